package io.nemorouter.server.cluster;

import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Redis URLs the README promises beyond a plain {@code redis://host:port}: a password and a
 * database number, and a Sentinel that names the master. Each runs real gateway processes on a
 * Redis of its own.
 */
class RedisUrlsTest {

    /** Replica 1's status for a key made on replica 0, once it is 200 or after a second. */
    static int sharedWithin(ClusterGateways gw, String key) throws Exception {
        return gw.until(1, key, 200, System.nanoTime(), java.time.Duration.ofSeconds(1));
    }

    @Test
    void aPasswordAndADatabaseNumberInTheUrlAreUsed() throws Exception {
        try (RedisProcess redis = RedisProcess.start(false, List.of("--requirepass", "s3cret-pw"))) {
            String url = "redis://:s3cret-pw@127.0.0.1:" + redis.port() + "/3";
            String prefix = RedisProcess.prefix();
            try (ClusterGateways gw = new ClusterGateways(2, url, prefix, "")) {
                String key = gw.admin(0, "/key/generate", "{\"key_alias\":\"pw\"}").get("key").asText();
                assertEquals(200, sharedWithin(gw, key), "a key made on one replica works on the other: " + gw.log(1));
                assertTrue(gw.get(0, "/health").body().contains("\"up\""), gw.get(0, "/health").body());
            }
            RedisClient client = RedisClient.create(url);
            try (StatefulRedisConnection<String, String> c = client.connect()) {
                assertEquals(1L, c.sync().exists("{" + prefix + "}:records"), "the records are in database 3");
                c.sync().select(0);
                assertEquals(0L, c.sync().exists("{" + prefix + "}:records"), "and not in database 0");
            } finally {
                client.shutdown();
            }
        }
    }

    @Test
    void aSentinelUrlFindsTheMaster() throws Exception {
        try (RedisProcess master = RedisProcess.start(); RedisProcess sentinel = RedisProcess.sentinel(master.port())) {
            String url = "redis-sentinel://127.0.0.1:" + sentinel.port() + "/0#mymaster";
            String prefix = RedisProcess.prefix();
            try (ClusterGateways gw = new ClusterGateways(2, url, prefix, "")) {
                String key = gw.admin(0, "/key/generate", "{\"key_alias\":\"sentinel\"}").get("key").asText();
                assertEquals(200, sharedWithin(gw, key), "a key made on one replica works on the other: " + gw.log(1));
            }
            RedisClient client = RedisClient.create(master.url());
            try (StatefulRedisConnection<String, String> c = client.connect()) {
                assertEquals(1L, c.sync().exists("{" + prefix + "}:records"), "the records are on the master the sentinel named");
            } finally {
                client.shutdown();
            }
        }
    }

    @Test
    void aRedissUrlSpeaksTlsToAServerWhoseCertificateChainsToTheConfiguredCa() throws Exception {
        java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("nemo-redis-tls");
        java.nio.file.Path cert = dir.resolve("redis.pem");
        java.nio.file.Path key = dir.resolve("redis.key");
        Process openssl = new ProcessBuilder("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key.toString(), "-out", cert.toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve("openssl.log").toFile()).start();
        assertEquals(0, openssl.waitFor(), "openssl made a certificate");
        int tlsPort;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
            tlsPort = s.getLocalPort();
        }
        try (RedisProcess redis = RedisProcess.start(false, List.of("--tls-port", Integer.toString(tlsPort), "--tls-cert-file", cert.toString(),
                "--tls-key-file", key.toString(), "--tls-ca-cert-file", cert.toString(), "--tls-auth-clients", "no"))) {
            String url = "rediss://127.0.0.1:" + tlsPort;
            String prefix = RedisProcess.prefix();
            try (ClusterGateways gw = new ClusterGateways(2, url, prefix, "nemo.cluster.tls_ca_file = \"" + cert + "\"")) {
                String made = gw.admin(0, "/key/generate", "{\"key_alias\":\"tls\"}").get("key").asText();
                assertEquals(200, sharedWithin(gw, made), "a key made on one replica works on the other: " + gw.log(1));
            }
            AssertionError refused = org.junit.jupiter.api.Assertions.assertThrows(AssertionError.class,
                    () -> new ClusterGateways(1, url, RedisProcess.prefix(), "").close());
            assertTrue(refused.getMessage().contains("cannot be reached"),
                    "without the CA the server's certificate is not trusted, and the gateway says so: " + refused.getMessage());
        } finally {
            io.nemorouter.testkit.TestGateway.deleteTree(dir);
        }
    }
}
