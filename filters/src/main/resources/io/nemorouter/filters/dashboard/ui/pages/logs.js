// Requests: not built yet (issue 16); the shell's navigation already links here.
import { el } from '../util.js';

export default {
  id: 'logs',
  title: 'Requests',
  roles: ['admin', 'key'],
  render(host) {
    host.append(el('p', { class: 'empty' }, 'This page is not built yet.'));
  },
};
