package io.nemorouter.providers.standin;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.nemorouter.core.openai.OpenAiJson;

import java.io.IOException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.Signature;
import java.security.interfaces.RSAPrivateCrtKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.RSAPublicKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Google's Gemini API ({@code POST /v1beta/models/{model}:generateContent},
 * {@code :streamGenerateContent?alt=sse}, {@code :embedContent}, {@code :batchEmbedContents}, key in
 * {@code x-goog-api-key}) or, started as {@code vertex}, Vertex AI's
 * ({@code POST /v1/projects/{p}/locations/{l}/publishers/google/models/{model}:generateContent},
 * {@code :predict} for embeddings, a Bearer token it issued itself at {@code POST /token}), as their
 * references describe them, strict where the real ones are: an unknown member anywhere is "Invalid
 * JSON payload received. Unknown name", and so is a JSON-schema keyword Gemini's Schema lacks
 * ({@code additionalProperties}); roles are {@code user} and {@code model}; a turn needs parts.
 *
 * <p>The token endpoint is Google's OAuth one for service accounts: a form with the jwt-bearer grant
 * and a JWT signed RS256 by the account, checked against the public half of the key in the key
 * file named as the stand-in's key (read when the first token is asked for, so the file may name
 * this server's port), its {@code iss}, {@code aud} and {@code exp} checked too. Tokens live
 * {@link #tokenLifetimeSeconds} seconds.
 */
final class GeminiStandIn implements StandInServer.Api {
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
    private static final Pattern GEMINI_PATH = Pattern.compile("^/v1beta/((?:models|tunedModels)/[^:/]+):(\\w+)(\\?.*)?$");
    private static final Pattern VERTEX_PATH = Pattern.compile(
            "^/v1/projects/([^/]+)/locations/([^/]+)/publishers/google/models/([^:/]+):(\\w+)(\\?.*)?$");
    private static final Set<String> MEMBERS = Set.of("contents", "systemInstruction", "tools", "toolConfig",
            "safetySettings", "generationConfig", "cachedContent");
    private static final Set<String> GENERATION_CONFIG = Set.of("stopSequences", "responseMimeType", "responseSchema",
            "responseJsonSchema", "candidateCount", "maxOutputTokens", "temperature", "topP", "topK", "seed",
            "presencePenalty", "frequencyPenalty", "responseLogprobs", "logprobs", "thinkingConfig", "responseModalities",
            "mediaResolution", "speechConfig");
    private static final Set<String> PART_KINDS = Set.of("text", "inlineData", "fileData", "functionCall", "functionResponse",
            "executableCode", "codeExecutionResult");
    private static final Set<String> SCHEMA_KEYWORDS_REFUSED = Set.of("additionalProperties", "$schema", "$id", "strict");
    /** Tokens of prompt that a named {@code cachedContent} stands for. */
    static final long CACHED_TOKENS = 1000;

    private final boolean vertex;
    private final String key;
    private final long delayMillis;
    private final AtomicInteger ids = new AtomicInteger();
    private final AtomicInteger tokensIssued = new AtomicInteger();
    /** Tokens issued, with when they expire (epoch millis). */
    private final Map<String, Long> tokens = new ConcurrentHashMap<>();
    volatile long tokenLifetimeSeconds = 3600;

    /** {@code key}: the Gemini API key wanted; for Vertex, the path of the service account's key file. */
    GeminiStandIn(boolean vertex, String key, long delayMillis) {
        this.vertex = vertex;
        this.key = key;
        this.delayMillis = delayMillis;
    }

    @Override
    public void answer(StandInServer.Request r, StandInServer.Reply reply) {
        if (vertex && "POST".equals(r.method()) && r.uri().equals("/token")) {
            token(r, reply);
            return;
        }
        Matcher m = (vertex ? VERTEX_PATH : GEMINI_PATH).matcher(r.uri());
        if (!"POST".equals(r.method()) || !m.matches()) {
            reply.json(404, error(404, "The requested URL " + r.uri() + " was not found on this server."));
            return;
        }
        String refusal = vertex ? checkToken(r) : checkKey(r);
        if (refusal != null) {
            reply.json(refusal.startsWith("401") ? 401 : refusal.startsWith("403") ? 403 : 400,
                    error(Integer.parseInt(refusal.substring(0, 3)), refusal.substring(4)));
            return;
        }
        String model = vertex ? m.group(3) : m.group(1).substring(m.group(1).indexOf('/') + 1);
        String method = vertex ? m.group(4) : m.group(2);
        String query = vertex ? m.group(5) : m.group(3);
        JsonNode req = r.json();
        int fail = FakeModel.failStatus(model);
        if (fail != 0) {
            reply.json(fail, error(fail, "Scripted failure of " + model + "."));
            return;
        }
        switch (method) {
            case "generateContent", "streamGenerateContent" -> {
                boolean stream = method.equals("streamGenerateContent");
                if (stream && (query == null || !query.contains("alt=sse"))) {
                    reply.json(400, error(400, "This stand-in streams server-sent events only: add ?alt=sse."));
                    return;
                }
                String problem = problem(req);
                if (problem != null) {
                    reply.json(400, error(400, problem));
                    return;
                }
                Answer a = answer(req, model);
                if (stream) {
                    reply.events(events(a, FakeModel.breaksMidStream(model), FakeModel.cutsMidStream(model)), delayMillis);
                } else {
                    reply.json(200, whole(a).toString());
                }
            }
            case "embedContent" -> {
                if (vertex) {
                    reply.json(404, error(404, "Vertex AI embeds with :predict."));
                    return;
                }
                embedContent(req, reply);
            }
            case "batchEmbedContents" -> {
                if (vertex) {
                    reply.json(404, error(404, "Vertex AI embeds with :predict."));
                    return;
                }
                batchEmbedContents(req, "models/" + model, reply);
            }
            case "predict" -> {
                if (!vertex) {
                    reply.json(404, error(404, "The Gemini API has no :predict for this model."));
                    return;
                }
                predict(req, reply);
            }
            default -> reply.json(404, error(404, "Unknown method " + method + "."));
        }
    }

    // ---- credentials -----------------------------------------------------------------------------

    private String checkKey(StandInServer.Request r) {
        String given = r.headers().get("x-goog-api-key");
        if (given == null) {
            return "403 Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.";
        }
        if (key != null && !key.equals(given)) {
            return "400 API key not valid. Please pass a valid API key.";
        }
        return null;
    }

    private String checkToken(StandInServer.Request r) {
        String auth = r.headers().get("authorization");
        if (auth == null || !auth.startsWith("Bearer ")) {
            return "401 Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential.";
        }
        Long expires = tokens.get(auth.substring(7));
        if (expires == null || expires < System.currentTimeMillis()) {
            return "401 Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.";
        }
        return null;
    }

    /** {@code POST /token}: a jwt-bearer grant, its JWT checked as Google's token endpoint checks it. */
    private void token(StandInServer.Request r, StandInServer.Reply reply) {
        Map<String, String> form = new HashMap<>();
        for (String pair : r.body().split("&")) {
            int eq = pair.indexOf('=');
            if (eq > 0) {
                form.put(URLDecoder.decode(pair.substring(0, eq), StandardCharsets.UTF_8),
                        URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
            }
        }
        if (!"urn:ietf:params:oauth:grant-type:jwt-bearer".equals(form.get("grant_type"))) {
            reply.json(400, oauthError("unsupported_grant_type", "Invalid grant_type: " + form.get("grant_type")));
            return;
        }
        String jwt = form.getOrDefault("assertion", "");
        String[] parts = jwt.split("\\.");
        if (parts.length != 3) {
            reply.json(400, oauthError("invalid_grant", "Invalid JWT: not three parts."));
            return;
        }
        ServiceAccount account;
        try {
            account = ServiceAccount.read(Path.of(key));
        } catch (IOException | GeneralSecurityException | RuntimeException e) {
            reply.json(500, oauthError("internal_failure", "The stand-in cannot read its service account key " + key + ": " + e));
            return;
        }
        try {
            Signature rsa = Signature.getInstance("SHA256withRSA");
            rsa.initVerify(account.publicKey());
            rsa.update((parts[0] + "." + parts[1]).getBytes(StandardCharsets.US_ASCII));
            if (!rsa.verify(Base64.getUrlDecoder().decode(parts[2]))) {
                reply.json(400, oauthError("invalid_grant", "Invalid JWT Signature."));
                return;
            }
            JsonNode header = OpenAiJson.MAPPER.readTree(Base64.getUrlDecoder().decode(parts[0]));
            JsonNode claims = OpenAiJson.MAPPER.readTree(Base64.getUrlDecoder().decode(parts[1]));
            long now = System.currentTimeMillis() / 1000;
            String problem = !"RS256".equals(header.path("alg").asText()) ? "Invalid JWT: alg must be RS256."
                    : !account.email().equals(claims.path("iss").asText()) ? "Invalid JWT: iss is not the account."
                    : !account.tokenUri().equals(claims.path("aud").asText()) ? "Invalid JWT: aud must be " + account.tokenUri() + "."
                    : !claims.path("scope").asText().contains("https://www.googleapis.com/auth/cloud-platform") ? "Invalid JWT: no scope."
                    : claims.path("exp").asLong() <= now ? "Invalid JWT: Token must be a short-lived token and in a reasonable timeframe."
                    : claims.path("exp").asLong() - claims.path("iat").asLong() > 3600 ? "Invalid JWT: exp is more than an hour after iat."
                    : null;
            if (problem != null) {
                reply.json(400, oauthError("invalid_grant", problem));
                return;
            }
        } catch (GeneralSecurityException | IOException | IllegalArgumentException e) {
            reply.json(400, oauthError("invalid_grant", "Invalid JWT: " + e.getMessage()));
            return;
        }
        long life = tokenLifetimeSeconds;
        String token = "ya29.standin-" + tokensIssued.incrementAndGet();
        tokens.put(token, System.currentTimeMillis() + life * 1000);
        reply.json(200, NODES.objectNode().put("access_token", token).put("expires_in", life).put("token_type", "Bearer").toString());
    }

    /** The account of the key file: the public half of its key, derived from the private one. */
    private record ServiceAccount(String email, String tokenUri, PublicKey publicKey) {
        static ServiceAccount read(Path file) throws IOException, GeneralSecurityException {
            JsonNode json = OpenAiJson.MAPPER.readTree(Files.readString(file));
            String pem = json.path("private_key").asText().replace("-----BEGIN PRIVATE KEY-----", "")
                    .replace("-----END PRIVATE KEY-----", "").replaceAll("\\s", "");
            KeyFactory rsa = KeyFactory.getInstance("RSA");
            RSAPrivateCrtKey priv = (RSAPrivateCrtKey) rsa.generatePrivate(new PKCS8EncodedKeySpec(Base64.getDecoder().decode(pem)));
            PublicKey pub = rsa.generatePublic(new RSAPublicKeySpec(priv.getModulus(), priv.getPublicExponent()));
            return new ServiceAccount(json.path("client_email").asText(), json.path("token_uri").asText(), pub);
        }
    }

    private static String oauthError(String error, String description) {
        return NODES.objectNode().put("error", error).put("error_description", description).toString();
    }

    // ---- the request -----------------------------------------------------------------------------

    /** What the real API would refuse, or null. */
    private String problem(JsonNode req) {
        if (!req.isObject()) {
            return "Invalid JSON payload received. Expected an object.";
        }
        for (var it = req.fieldNames(); it.hasNext(); ) {
            String name = it.next();
            if (!MEMBERS.contains(name) && !(vertex && name.equals("labels"))) {
                return "Invalid JSON payload received. Unknown name \"" + name + "\": Cannot find field.";
            }
        }
        JsonNode config = req.path("generationConfig");
        for (var it = config.fieldNames(); it.hasNext(); ) {
            String name = it.next();
            if (!GENERATION_CONFIG.contains(name)) {
                return "Invalid JSON payload received. Unknown name \"" + name + "\" at 'generation_config': Cannot find field.";
            }
        }
        if (config.path("temperature").asDouble(0) > 2) {
            return "* GenerateContentRequest.generation_config.temperature: must be between 0 and 2";
        }
        String schema = schemaProblem(config.get("responseSchema"), "generation_config.response_schema");
        if (schema != null) {
            return schema;
        }
        for (JsonNode tool : req.path("tools")) {
            for (JsonNode d : tool.path("functionDeclarations")) {
                schema = schemaProblem(d.get("parameters"), "tools[0].function_declarations.parameters");
                if (schema != null) {
                    return schema;
                }
            }
        }
        JsonNode contents = req.get("contents");
        if (contents == null || !contents.isArray() || contents.isEmpty()) {
            return "* GenerateContentRequest.contents: contents is not specified";
        }
        for (int i = 0; i < contents.size(); i++) {
            JsonNode c = contents.get(i);
            String role = c.path("role").asText("user");
            if (!role.equals("user") && !role.equals("model")) {
                return "Please use a valid role: user, model.";
            }
            JsonNode parts = c.get("parts");
            if (parts == null || !parts.isArray() || parts.isEmpty()) {
                return "* GenerateContentRequest.contents[" + i + "].parts: contents.parts must not be empty.";
            }
            for (JsonNode p : parts) {
                int kinds = 0;
                for (var it = p.fieldNames(); it.hasNext(); ) {
                    String name = it.next();
                    if (PART_KINDS.contains(name)) {
                        kinds++;
                    } else if (!name.equals("thought") && !name.equals("thoughtSignature")) {
                        return "Invalid JSON payload received. Unknown name \"" + name + "\" at 'contents[" + i + "].parts[0]': Cannot find field.";
                    }
                }
                if (kinds != 1) {
                    return "* GenerateContentRequest.contents[" + i + "].parts: a part must have exactly one of text, inlineData, fileData, functionCall, functionResponse";
                }
            }
        }
        return null;
    }

    private static String schemaProblem(JsonNode schema, String where) {
        if (schema == null || !schema.isContainerNode()) {
            return null;
        }
        if (schema.isObject()) {
            for (var it = schema.fields(); it.hasNext(); ) {
                var m = it.next();
                if (SCHEMA_KEYWORDS_REFUSED.contains(m.getKey())) {
                    return "Invalid JSON payload received. Unknown name \"" + m.getKey() + "\" at '" + where + "': Cannot find field.";
                }
                if (m.getKey().equals("properties")) {
                    for (JsonNode p : m.getValue()) {
                        String problem = schemaProblem(p, where + ".properties");
                        if (problem != null) {
                            return problem;
                        }
                    }
                } else if (m.getValue().isContainerNode()) {
                    String problem = schemaProblem(m.getValue(), where);
                    if (problem != null) {
                        return problem;
                    }
                }
            }
        } else {
            for (JsonNode v : schema) {
                String problem = schemaProblem(v, where);
                if (problem != null) {
                    return problem;
                }
            }
        }
        return null;
    }

    // ---- the answer ------------------------------------------------------------------------------

    /** What the model says, once per candidate. */
    private record Answer(String id, String model, int candidates, String thought, String text, String callName,
                          JsonNode callArgs, String finishReason, long prompt, long cached, long output, long thoughts) {
    }

    private Answer answer(JsonNode req, String model) {
        JsonNode contents = req.get("contents");
        JsonNode last = contents.get(contents.size() - 1);
        StringBuilder lastUser = new StringBuilder();
        String toolResult = null;
        int images = 0;
        for (JsonNode p : last.path("parts")) {
            if (p.has("text")) {
                lastUser.append(p.get("text").asText());
            } else if (p.has("inlineData") || p.has("fileData")) {
                images++;
            } else if (p.has("functionResponse")) {
                JsonNode content = p.get("functionResponse").path("response").path("content");
                toolResult = content.isTextual() ? content.asText() : content.toString();
            }
        }
        StringBuilder all = new StringBuilder();
        for (JsonNode p : req.path("systemInstruction").path("parts")) {
            all.append(p.path("text").asText());
        }
        for (JsonNode c : contents) {
            for (JsonNode p : c.path("parts")) {
                all.append(p.path("text").asText());
            }
        }
        long cached = req.hasNonNull("cachedContent") ? CACHED_TOKENS : 0;
        long prompt = 3 + FakeModel.tokens(all.toString()) + cached;
        String id = "standin-" + ids.incrementAndGet();
        JsonNode config = req.path("generationConfig");
        int candidates = Math.max(1, config.path("candidateCount").asInt(1));
        List<JsonNode> declarations = new ArrayList<>();
        req.path("tools").forEach(t -> t.path("functionDeclarations").forEach(declarations::add));
        JsonNode calling = req.path("toolConfig").path("functionCallingConfig");
        String mode = calling.path("mode").asText("AUTO");
        if (!declarations.isEmpty() && !mode.equals("NONE") && toolResult == null) {
            JsonNode tool = declarations.get(0);
            String allowed = calling.path("allowedFunctionNames").path(0).asText(null);
            for (JsonNode d : declarations) {
                if (d.path("name").asText().equals(allowed)) {
                    tool = d;
                }
            }
            ObjectNode args = FakeModel.arguments(tool.get("parameters"));
            return new Answer(id, model, candidates, null, null, tool.path("name").asText(), args, "STOP", prompt, cached,
                    FakeModel.tokens(args.toString()), 0);
        }
        String text = FakeModel.answer(model, lastUser.toString(), images, toolResult);
        if ("application/json".equals(config.path("responseMimeType").asText())) {
            JsonNode schema = config.get("responseSchema");
            text = schema != null ? FakeModel.arguments(schema).toString() : NODES.objectNode().put("answer", text).toString();
        }
        String finish = "STOP";
        JsonNode stops = config.get("stopSequences");
        if (stops != null && stops.isArray()) {
            String cut = FakeModel.cutAtStop(text, stops.elements());
            if (cut != null) {
                text = cut;
            }
        }
        List<String> pieces = FakeModel.pieces(text);
        long max = config.path("maxOutputTokens").asLong(Long.MAX_VALUE);
        if (pieces.size() > max) {
            text = String.join("", pieces.subList(0, (int) max));
            finish = "MAX_TOKENS";
        }
        String thought = config.path("thinkingConfig").path("includeThoughts").asBoolean(false) ? "Thinking about: " + lastUser : null;
        return new Answer(id, model, candidates, thought, text, null, null, finish, prompt, cached,
                FakeModel.pieces(text).size(), thought == null ? 0 : FakeModel.tokens(thought));
    }

    private static ObjectNode whole(Answer a) {
        ObjectNode out = NODES.objectNode();
        ArrayNode candidates = out.putArray("candidates");
        for (int i = 0; i < a.candidates(); i++) {
            ObjectNode c = candidates.addObject();
            ObjectNode content = c.putObject("content");
            ArrayNode parts = content.putArray("parts");
            content.put("role", "model");
            if (a.thought() != null) {
                parts.addObject().put("text", a.thought()).put("thought", true);
            }
            if (a.callName() != null) {
                parts.addObject().putObject("functionCall").put("name", a.callName()).set("args", a.callArgs());
            } else {
                parts.addObject().put("text", a.text());
            }
            c.put("finishReason", a.finishReason());
            c.put("index", i);
        }
        out.set("usageMetadata", usage(a, a.output() * a.candidates()));
        out.put("modelVersion", a.model());
        out.put("responseId", a.id());
        return out;
    }

    private static ObjectNode usage(Answer a, long output) {
        ObjectNode u = NODES.objectNode();
        u.put("promptTokenCount", a.prompt());
        if (output > 0) {
            u.put("candidatesTokenCount", output);
        }
        u.put("totalTokenCount", a.prompt() + output + a.thoughts());
        if (a.cached() > 0) {
            u.put("cachedContentTokenCount", a.cached());
        }
        if (a.thoughts() > 0) {
            u.put("thoughtsTokenCount", a.thoughts());
        }
        return u;
    }

    /** The answer as Gemini streams it: every event a whole GenerateContentResponse, the last with the finish and all the usage. */
    private static List<String> events(Answer a, boolean breaks, boolean cuts) {
        List<String> out = new ArrayList<>();
        List<ObjectNode> parts = new ArrayList<>();
        if (a.thought() != null) {
            parts.add(NODES.objectNode().put("text", a.thought()).put("thought", true));
        }
        if (a.callName() != null) {
            ObjectNode p = NODES.objectNode();
            p.putObject("functionCall").put("name", a.callName()).set("args", a.callArgs());
            parts.add(p);
        } else {
            FakeModel.pieces(a.text()).forEach(piece -> parts.add(NODES.objectNode().put("text", piece)));
        }
        long output = 0;
        for (int i = 0; i < parts.size(); i++) {
            boolean lastPart = i == parts.size() - 1;
            if (!parts.get(i).has("thought")) {
                output++;
            }
            ObjectNode e = NODES.objectNode();
            ArrayNode candidates = e.putArray("candidates");
            for (int c = 0; c < a.candidates(); c++) {
                ObjectNode candidate = candidates.addObject();
                candidate.putObject("content").put("role", "model").putArray("parts").add(parts.get(i));
                if (lastPart) {
                    candidate.put("finishReason", a.finishReason());
                }
                candidate.put("index", c);
            }
            e.set("usageMetadata", usage(a, lastPart ? a.output() * a.candidates() : output * a.candidates()));
            e.put("modelVersion", a.model());
            e.put("responseId", a.id());
            out.add(event(e));
            if ((breaks || cuts) && out.size() == (a.thought() != null ? 2 : 1) && !lastPart) {
                if (breaks) {
                    out.add(event(errorNode(503, "The model is overloaded. Please try again later.")));
                }
                return out;
            }
        }
        return out;
    }

    private static String event(ObjectNode data) {
        return "data: " + data + "\r\n\r\n";
    }

    // ---- embeddings ------------------------------------------------------------------------------

    private void embedContent(JsonNode req, StandInServer.Reply reply) {
        String text = text(req.path("content"));
        if (text == null) {
            reply.json(400, error(400, "* EmbedContentRequest.content: contents must not be empty"));
            return;
        }
        ObjectNode out = NODES.objectNode();
        out.putObject("embedding").set("values", vector(text, req.path("outputDimensionality").asInt(768)));
        reply.json(200, out.toString());
    }

    private void batchEmbedContents(JsonNode req, String model, StandInServer.Reply reply) {
        ObjectNode out = NODES.objectNode();
        ArrayNode embeddings = out.putArray("embeddings");
        JsonNode requests = req.path("requests");
        for (int i = 0; i < requests.size(); i++) {
            JsonNode r = requests.get(i);
            if (!model.equals(r.path("model").asText())) {
                reply.json(400, error(400, "* BatchEmbedContentsRequest.requests[" + i + "].model: the model must be " + model));
                return;
            }
            String text = text(r.path("content"));
            if (text == null) {
                reply.json(400, error(400, "* BatchEmbedContentsRequest.requests[" + i + "].content: contents must not be empty"));
                return;
            }
            embeddings.addObject().set("values", vector(text, r.path("outputDimensionality").asInt(768)));
        }
        reply.json(200, out.toString());
    }

    private void predict(JsonNode req, StandInServer.Reply reply) {
        ObjectNode out = NODES.objectNode();
        ArrayNode predictions = out.putArray("predictions");
        int dims = req.path("parameters").path("outputDimensionality").asInt(768);
        long characters = 0;
        for (JsonNode instance : req.path("instances")) {
            String text = instance.path("content").asText("");
            characters += text.length();
            ObjectNode e = predictions.addObject().putObject("embeddings");
            e.set("values", vector(text, dims));
            e.putObject("statistics").put("truncated", false).put("token_count", FakeModel.tokens(text));
        }
        out.putObject("metadata").put("billableCharacterCount", characters);
        reply.json(200, out.toString());
    }

    private static String text(JsonNode content) {
        StringBuilder b = new StringBuilder();
        for (JsonNode p : content.path("parts")) {
            b.append(p.path("text").asText(""));
        }
        return b.length() == 0 ? null : b.toString();
    }

    /** A deterministic vector for {@code text}: values of a few decimals, the same as floats and doubles. */
    static ArrayNode vector(String text, int dimensions) {
        ArrayNode out = NODES.arrayNode();
        int h = text.hashCode();
        for (int i = 0; i < dimensions; i++) {
            h = h * 31 + i;
            out.add(((h & 0x7fff) - 16384) / 16384.0);
        }
        return out;
    }

    // ---- errors ----------------------------------------------------------------------------------

    static String error(int code, String message) {
        return errorNode(code, message).toString();
    }

    /** Google's error body: {@code {"error":{"code","message","status"}}}. */
    private static ObjectNode errorNode(int code, String message) {
        ObjectNode out = NODES.objectNode();
        out.putObject("error").put("code", code).put("message", message).put("status", statusName(code));
        return out;
    }

    private static String statusName(int code) {
        return switch (code) {
            case 400 -> "INVALID_ARGUMENT";
            case 401 -> "UNAUTHENTICATED";
            case 403 -> "PERMISSION_DENIED";
            case 404 -> "NOT_FOUND";
            case 409 -> "ABORTED";
            case 429 -> "RESOURCE_EXHAUSTED";
            case 499 -> "CANCELLED";
            case 501 -> "UNIMPLEMENTED";
            case 503 -> "UNAVAILABLE";
            case 504 -> "DEADLINE_EXCEEDED";
            default -> code / 100 == 4 ? "FAILED_PRECONDITION" : "INTERNAL";
        };
    }
}
