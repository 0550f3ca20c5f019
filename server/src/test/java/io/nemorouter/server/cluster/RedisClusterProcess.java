package io.nemorouter.server.cluster;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real sharded Redis Cluster on loopback for the tests: {@code masters} masters, each with one
 * replica when {@code replicas}, made by {@code redis-cli --cluster create}, with a one-second node
 * timeout so a killed master's replica takes over in a few seconds.
 */
final class RedisClusterProcess implements AutoCloseable {
    final List<RedisProcess> nodes = new ArrayList<>();

    RedisClusterProcess(int masters, boolean replicas) throws IOException, InterruptedException {
        int count = replicas ? masters * 2 : masters;
        try {
            for (int i = 0; i < count; i++) {
                nodes.add(RedisProcess.start(false, List.of("--cluster-enabled", "yes", "--cluster-node-timeout", "1000")));
            }
            List<String> cmd = new ArrayList<>(List.of("redis-cli", "--cluster", "create"));
            nodes.forEach(n -> cmd.add("127.0.0.1:" + n.port()));
            cmd.addAll(List.of("--cluster-replicas", replicas ? "1" : "0", "--cluster-yes"));
            Path log = Files.createTempFile("nemo-redis-cluster", ".log");
            Process create = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            if (!create.waitFor(60, TimeUnit.SECONDS) || create.exitValue() != 0) {
                throw new IOException("redis-cli --cluster create failed: " + Files.readString(log));
            }
            awaitState(nodes.get(0), "cluster_state:ok", 30);
        } catch (IOException | InterruptedException | RuntimeException e) {
            close();
            throw e;
        }
    }

    /** A seed URL of one node. */
    String url(int node) {
        return nodes.get(node).url();
    }

    /** Every node, as {@code redis://h1:p1,h2:p2,...}. */
    String nodesUrl() {
        StringBuilder b = new StringBuilder("redis://");
        for (RedisProcess n : nodes) {
            b.append(b.length() > "redis://".length() ? "," : "").append("127.0.0.1:").append(n.port());
        }
        return b.toString();
    }

    /** The node that serves {@code key}'s slot as master now. */
    int masterOf(String key) throws IOException, InterruptedException {
        RedisProcess alive = nodes.stream().filter(RedisProcess::ping).findFirst().orElseThrow();
        String slot = cli(alive, "cluster", "keyslot", key).trim();
        for (int i = 0; i < nodes.size(); i++) {
            RedisProcess n = nodes.get(i);
            if (!n.ping()) {
                continue;
            }
            if (serves(n, slot)) {
                return i;
            }
        }
        throw new IllegalStateException("no master serves slot " + slot);
    }

    /** Waits until a node other than {@code old} serves {@code key}'s slot as master (a failover); that node. */
    int awaitNewMaster(String key, int old, int seconds) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (System.nanoTime() < deadline) {
            try {
                int now = masterOf(key);
                if (now != old) {
                    return now;
                }
            } catch (IllegalStateException notYet) {
                // between the master's failure and its replica's promotion
            }
            Thread.sleep(100);
        }
        throw new IOException("no replica took over " + key + "'s slot within " + seconds + " s");
    }

    private static boolean serves(RedisProcess n, String slot) throws IOException, InterruptedException {
        // a node serves the slot when its own line in CLUSTER NODES says master and lists a range with it
        for (String line : cli(n, "cluster", "nodes").split("\n")) {
            String[] f = line.trim().split(" ");
            if (f.length < 9 || !f[2].contains("myself") || !f[2].contains("master")) {
                continue;
            }
            for (int i = 8; i < f.length; i++) {
                String[] range = f[i].split("-");
                if (range[0].startsWith("[")) {
                    continue; // a slot being migrated
                }
                int from = Integer.parseInt(range[0]);
                int to = range.length > 1 ? Integer.parseInt(range[1]) : from;
                int s = Integer.parseInt(slot);
                if (s >= from && s <= to) {
                    return true;
                }
            }
        }
        return false;
    }

    /** The nodes (alive) with a client subscribed to a channel: where the gateways listen. */
    List<Integer> subscribed() throws IOException, InterruptedException {
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < nodes.size(); i++) {
            if (nodes.get(i).ping() && java.util.regex.Pattern.compile("\\bsub=[1-9]").matcher(cli(nodes.get(i), "client", "list")).find()) {
                out.add(i);
            }
        }
        return out;
    }

    /** Makes {@code node} a replica if it is a master: a manual failover on one of its replicas, waited for. */
    void demote(int node) throws IOException, InterruptedException {
        RedisProcess master = nodes.get(node);
        if (!cli(master, "role").startsWith("master")) {
            return;
        }
        for (RedisProcess n : nodes) {
            if (n.ping() && replicates(cli(n, "role"), master.port(), false)) {
                cli(n, "cluster", "failover");
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
                while (System.nanoTime() < deadline) {
                    if (cli(master, "role").startsWith("slave")) {
                        return;
                    }
                    Thread.sleep(100);
                }
                throw new IOException("node " + node + " is still a master after a manual failover");
            }
        }
        throw new IOException("node " + node + " has no replica to hand over to");
    }

    /** Waits until {@code replica} replicates {@code master} with its link up (synced, so a manual failover may go ahead). */
    void awaitReplicaOf(int replica, int master, int seconds) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        String role = "";
        while (System.nanoTime() < deadline) {
            role = cli(nodes.get(replica), "role");
            if (replicates(role, nodes.get(master).port(), true)) {
                return;
            }
            Thread.sleep(100);
        }
        throw new IOException("node " + replica + " is not a synced replica of node " + master + " within " + seconds + " s: " + role);
    }

    /** Whether {@code ROLE}'s answer is a replica's of the master on {@code masterPort} (with its link up, when {@code connected}). */
    private static boolean replicates(String role, int masterPort, boolean connected) {
        String[] lines = role.split("\n");
        return lines.length > 3 && lines[0].trim().equals("slave") && lines[2].trim().equals(Integer.toString(masterPort))
                && (!connected || lines[3].trim().equals("connected"));
    }

    /** Waits until {@code CLUSTER INFO} on {@code node} contains {@code text}. */
    static void awaitState(RedisProcess node, String text, int seconds) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        String info = "";
        while (System.nanoTime() < deadline) {
            info = cli(node, "cluster", "info");
            if (info.contains(text)) {
                return;
            }
            Thread.sleep(100);
        }
        throw new IOException("the cluster did not reach " + text + " within " + seconds + " s: " + info);
    }

    /** {@code redis-cli -p <port> args...}: its output. */
    static String cli(RedisProcess node, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("redis-cli", "-p", Integer.toString(node.port())));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        p.waitFor(10, TimeUnit.SECONDS);
        return out;
    }

    @Override
    public void close() {
        nodes.forEach(RedisProcess::close);
    }
}
