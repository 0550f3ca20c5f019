// Spend: not built yet (issue 16); the shell's navigation already links here.
import { el } from '../util.js';

export default {
  id: 'spend',
  title: 'Spend',
  roles: ['admin', 'key'],
  render(host) {
    host.append(el('p', { class: 'empty' }, 'This page is not built yet.'));
  },
};
