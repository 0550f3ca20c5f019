package io.nemorouter.bench;

import io.gatling.javaapi.core.ScenarioBuilder;
import io.gatling.javaapi.core.Simulation;
import io.gatling.javaapi.http.HttpProtocolBuilder;

import static io.gatling.javaapi.core.CoreDsl.StringBody;
import static io.gatling.javaapi.core.CoreDsl.bodyString;
import static io.gatling.javaapi.core.CoreDsl.constantUsersPerSec;
import static io.gatling.javaapi.core.CoreDsl.global;
import static io.gatling.javaapi.core.CoreDsl.jsonPath;
import static io.gatling.javaapi.core.CoreDsl.scenario;
import static io.gatling.javaapi.http.HttpDsl.header;
import static io.gatling.javaapi.http.HttpDsl.http;
import static io.gatling.javaapi.http.HttpDsl.status;

/**
 * The chat scenario through the gateway: plain completions and streamed ones, at a constant
 * arrival rate, every answer checked. {@code mvn -Pbench -pl bench gatling:test
 * -Dgateway.url=http://127.0.0.1:4000 [-Dbench.rate=500] [-Dbench.seconds=20] [-Dbench.model=bench]}
 */
public class ChatSimulation extends Simulation {
    private static final String BASE = System.getProperty("gateway.url", "http://127.0.0.1:4000");
    private static final String MODEL = System.getProperty("bench.model", "bench");
    private static final int RATE = Integer.getInteger("bench.rate", 500);
    private static final int SECONDS = Integer.getInteger("bench.seconds", 20);

    private static String body(boolean stream) {
        return "{\"model\":\"" + MODEL + "\",\"stream\":" + stream + ",\"messages\":[{\"role\":\"user\","
                + "\"content\":\"Summarise the benefits of an LLM gateway in one line.\"}]}";
    }

    private final HttpProtocolBuilder protocol = http.baseUrl(BASE)
            .contentTypeHeader("application/json")
            .shareConnections();

    private final ScenarioBuilder chat = scenario("chat completion").exec(
            http("chat").post("/v1/chat/completions").body(StringBody(body(false)))
                    .check(status().is(200),
                            jsonPath("$.choices[0].message.content").exists(),
                            header("x-nemo-model").exists(),
                            header("x-nemo-response-cost").exists()));

    private final ScenarioBuilder stream = scenario("chat stream").exec(
            http("chat stream").post("/v1/chat/completions").body(StringBody(body(true)))
                    .check(status().is(200),
                            bodyString().transform(s -> s.endsWith("data: [DONE]\n\n")).is(true)));

    {
        setUp(chat.injectOpen(constantUsersPerSec(RATE).during(SECONDS)),
                stream.injectOpen(constantUsersPerSec(Math.max(1, RATE / 5)).during(SECONDS)))
                .protocols(protocol)
                .assertions(global().failedRequests().percent().is(0.0));
    }
}
