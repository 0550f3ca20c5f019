package io.nemorouter.filters.export;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link SigV4} against AWS's published vectors, each checked at every step: the canonical request,
 * the string to sign and the Authorization header.
 *
 * <p>Sources, transcribed here rather than copied as files: AWS's "Signature Version 4 test suite"
 * (aws-sig-v4-test-suite, 2015; the request, .creq, .sts and .authz of each case, as AWS published
 * them and as botocore carries them under tests/unit/auth/aws4_testsuite); and the examples of the
 * Amazon S3 API Reference, "Signature Calculations for the Authorization Header: Transferring Payload
 * in a Single Chunk" (sig-v4-header-based-auth), for GET Object, PUT Object and GET Bucket (list).
 */
class SigV4Test {
    /** The test suite's credentials, region, service and time. */
    static final SigV4.Credentials SUITE = new SigV4.Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", null);
    static final SigV4 SUITE_SIGNER = new SigV4("us-east-1", "service");
    /** The S3 documentation's (its secret has a slash where the suite's has a plus). */
    static final SigV4.Credentials S3_DOCS = new SigV4.Credentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", null);
    static final SigV4 S3_SIGNER = new SigV4("us-east-1", "s3");
    static final String SUITE_SCOPE = "20150830/us-east-1/service/aws4_request";

    /** A request as the suite writes it: request line, {@code Name:value} lines, a blank line, the body. */
    record Request(String method, String path, String query, Map<String, String> headers, byte[] body) {
        static Request parse(String text) {
            String[] headAndBody = text.split("\n\n", 2);
            String[] lines = headAndBody[0].split("\n");
            String[] start = lines[0].split(" ");
            String target = start[1];
            int q = target.indexOf('?');
            Map<String, String> headers = new LinkedHashMap<>();
            for (int i = 1; i < lines.length; i++) {
                int colon = lines[i].indexOf(':');
                headers.put(lines[i].substring(0, colon), lines[i].substring(colon + 1));
            }
            return new Request(start[0], SigV4.encodePath(q < 0 ? target : target.substring(0, q)), q < 0 ? null : target.substring(q + 1),
                    headers, headAndBody.length > 1 ? headAndBody[1].getBytes(StandardCharsets.UTF_8) : new byte[0]);
        }

        /** The suite hashes the body; S3 requests say their hash in x-amz-content-sha256. */
        String payloadHash() {
            String declared = headers.get("x-amz-content-sha256");
            return declared != null ? declared : SigV4.sha256Hex(body);
        }
    }

    /** Checks each step of signing {@code request} against the published canonical request, string to sign and header. */
    static void check(SigV4 signer, SigV4.Credentials creds, String request, String creq, String sts, String authz) {
        Request r = Request.parse(request);
        Map<String, String> headers = SigV4.canonicalHeaders(r.headers());
        String canonical = signer.canonicalRequest(r.method(), r.path(), r.query(), headers, r.payloadHash());
        assertEquals(creq, canonical, "canonical request");
        String amzDate = headers.get("x-amz-date");
        assertEquals(sts, signer.stringToSign(amzDate, canonical), "string to sign");
        assertEquals(authz, signer.authorization(creds, r.method(), r.path(), r.query(), r.headers(), r.payloadHash()), "Authorization");
    }

    static String suiteAuthz(String signedHeaders, String signature) {
        return "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/" + SUITE_SCOPE + ", SignedHeaders=" + signedHeaders + ", Signature=" + signature;
    }

    @Test
    void getVanilla() {
        check(SUITE_SIGNER, SUITE, """
                GET / HTTP/1.1
                Host:example.amazonaws.com
                X-Amz-Date:20150830T123600Z""", """
                GET
                /

                host:example.amazonaws.com
                x-amz-date:20150830T123600Z

                host;x-amz-date
                e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855""", """
                AWS4-HMAC-SHA256
                20150830T123600Z
                20150830/us-east-1/service/aws4_request
                bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63""",
                suiteAuthz("host;x-amz-date", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"));
    }

    @Test
    void postVanilla() {
        check(SUITE_SIGNER, SUITE, """
                POST / HTTP/1.1
                Host:example.amazonaws.com
                X-Amz-Date:20150830T123600Z""", """
                POST
                /

                host:example.amazonaws.com
                x-amz-date:20150830T123600Z

                host;x-amz-date
                e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855""", """
                AWS4-HMAC-SHA256
                20150830T123600Z
                20150830/us-east-1/service/aws4_request
                553f88c9e4d10fc9e109e2aeb65f030801b70c2f6468faca261d401ae622fc87""",
                suiteAuthz("host;x-amz-date", "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"));
    }

    @Test
    void getVanillaQueryOrderKeyCase() {
        check(SUITE_SIGNER, SUITE, """
                GET /?Param2=value2&Param1=value1 HTTP/1.1
                Host:example.amazonaws.com
                X-Amz-Date:20150830T123600Z""", """
                GET
                /
                Param1=value1&Param2=value2
                host:example.amazonaws.com
                x-amz-date:20150830T123600Z

                host;x-amz-date
                e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855""", """
                AWS4-HMAC-SHA256
                20150830T123600Z
                20150830/us-east-1/service/aws4_request
                816cd5b414d056048ba4f7c5386d6e0533120fb1fcfa93762cf0fc39e2cf19e0""",
                suiteAuthz("host;x-amz-date", "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"));
    }

    @Test
    void getVanillaQueryUnreserved() {
        String unreserved = "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        check(SUITE_SIGNER, SUITE, """
                GET /?%1$s=%1$s HTTP/1.1
                Host:example.amazonaws.com
                X-Amz-Date:20150830T123600Z""".formatted(unreserved), """
                GET
                /
                %1$s=%1$s
                host:example.amazonaws.com
                x-amz-date:20150830T123600Z

                host;x-amz-date
                e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855""".formatted(unreserved), """
                AWS4-HMAC-SHA256
                20150830T123600Z
                20150830/us-east-1/service/aws4_request
                c30d4703d9f799439be92736156d47ccfb2d879ddf56f5befa6d1d6aab979177""",
                suiteAuthz("host;x-amz-date", "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197"));
    }

    @Test
    void postXWwwFormUrlencoded() {
        check(SUITE_SIGNER, SUITE, """
                POST / HTTP/1.1
                Content-Type:application/x-www-form-urlencoded
                Host:example.amazonaws.com
                X-Amz-Date:20150830T123600Z

                Param1=value1""", """
                POST
                /

                content-type:application/x-www-form-urlencoded
                host:example.amazonaws.com
                x-amz-date:20150830T123600Z

                content-type;host;x-amz-date
                9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e""", """
                AWS4-HMAC-SHA256
                20150830T123600Z
                20150830/us-east-1/service/aws4_request
                42a5e5bb34198acb3e84da4f085bb7927f2bc277ca766e6d19c73c2154021281""",
                suiteAuthz("content-type;host;x-amz-date", "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"));
    }

    @Test
    void getUtf8() {
        check(SUITE_SIGNER, SUITE, """
                GET /\u1234 HTTP/1.1
                Host:example.amazonaws.com
                X-Amz-Date:20150830T123600Z""", """
                GET
                /%E1%88%B4

                host:example.amazonaws.com
                x-amz-date:20150830T123600Z

                host;x-amz-date
                e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855""", """
                AWS4-HMAC-SHA256
                20150830T123600Z
                20150830/us-east-1/service/aws4_request
                2a0a97d02205e45ce2e994789806b19270cfbbb0921b278ccf58f5249ac42102""",
                suiteAuthz("host;x-amz-date", "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"));
    }

    /** post-sts-token/post-sts-header-before: temporary credentials, the session token signed as a header. */
    @Test
    void postStsHeaderBefore() {
        String token = "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/"
                + "kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz"
                + "+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==";
        check(SUITE_SIGNER, new SigV4.Credentials("AKIDEXAMPLE", SUITE.secretAccessKey(), token), """
                POST / HTTP/1.1
                Host:example.amazonaws.com
                X-Amz-Date:20150830T123600Z
                X-Amz-Security-Token:%s""".formatted(token), """
                POST
                /

                host:example.amazonaws.com
                x-amz-date:20150830T123600Z
                x-amz-security-token:%s

                host;x-amz-date;x-amz-security-token
                e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855""".formatted(token), """
                AWS4-HMAC-SHA256
                20150830T123600Z
                20150830/us-east-1/service/aws4_request
                c237e1b440d4c63c32ca95b5b99481081cb7b13c7e40434868e71567c1a882f6""",
                suiteAuthz("host;x-amz-date;x-amz-security-token", "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead"));
    }

    /** S3 API Reference, "Example: GET Object": the first 10 bytes of test.txt in examplebucket. */
    @Test
    void s3GetObject() {
        check(S3_SIGNER, S3_DOCS, """
                GET /test.txt HTTP/1.1
                Host:examplebucket.s3.amazonaws.com
                Range:bytes=0-9
                x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
                x-amz-date:20130524T000000Z""", """
                GET
                /test.txt

                host:examplebucket.s3.amazonaws.com
                range:bytes=0-9
                x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
                x-amz-date:20130524T000000Z

                host;range;x-amz-content-sha256;x-amz-date
                e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855""", """
                AWS4-HMAC-SHA256
                20130524T000000Z
                20130524/us-east-1/s3/aws4_request
                7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972""",
                "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
                        + "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
                        + "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
    }

    /** "Example: PUT Object": a key with a {@code $}, which S3 signs encoded once ({@code %24}). */
    @Test
    void s3PutObject() {
        String body = "Welcome to Amazon S3.";
        String hash = SigV4.sha256Hex(body.getBytes(StandardCharsets.UTF_8));
        assertEquals("44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072", hash);
        check(S3_SIGNER, S3_DOCS, """
                PUT /test$file.text HTTP/1.1
                Host:examplebucket.s3.amazonaws.com
                Date:Fri, 24 May 2013 00:00:00 GMT
                x-amz-date:20130524T000000Z
                x-amz-storage-class:REDUCED_REDUNDANCY
                x-amz-content-sha256:%s

                %s""".formatted(hash, body), """
                PUT
                /test%%24file.text

                date:Fri, 24 May 2013 00:00:00 GMT
                host:examplebucket.s3.amazonaws.com
                x-amz-content-sha256:%1$s
                x-amz-date:20130524T000000Z
                x-amz-storage-class:REDUCED_REDUNDANCY

                date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class
                %1$s""".formatted(hash), """
                AWS4-HMAC-SHA256
                20130524T000000Z
                20130524/us-east-1/s3/aws4_request
                9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d""",
                "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
                        + "SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class, "
                        + "Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
    }

    /** "Example: GET Bucket (List Objects)": a query, sorted. */
    @Test
    void s3ListObjects() {
        Request r = Request.parse("""
                GET /?max-keys=2&prefix=J HTTP/1.1
                Host:examplebucket.s3.amazonaws.com
                x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
                x-amz-date:20130524T000000Z""");
        String authz = S3_SIGNER.authorization(S3_DOCS, r.method(), r.path(), r.query(), r.headers(), r.payloadHash());
        assertTrue(authz.endsWith("SignedHeaders=host;x-amz-content-sha256;x-amz-date, "
                + "Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"), authz);
    }

    @Test
    void keysAreEncodedTheS3Way() {
        assertEquals("nemo-router/dt%3D2026-12-02/hour%3D14/20261202T1400Z-gw-1.jsonl.gz",
                SigV4.encodePath("nemo-router/dt=2026-12-02/hour=14/20261202T1400Z-gw-1.jsonl.gz"), "slashes kept, = encoded");
        assertEquals("/a%20b/c%2Bd/%D0%BA%D0%BB%D1%8E%D1%87/%25/~_.-", SigV4.encodePath("/a b/c+d/ключ/%/~_.-"), "once, upper-case hex");
        assertEquals("a%2Fb", SigV4.encode("a/b"), "a query value's slash is encoded");
        assertEquals("/logs//x/", SigV4.encodePath("/logs//x/"), "empty segments and trailing slashes are not normalized away");
        assertEquals("a=%2B&a=x%20y&b=2&c=", SigV4.canonicalQuery("b=2&a=x%20y&a=%2B&c"), "decoded, re-encoded, sorted; + is not a space");
    }

    @Test
    void headersAreTrimmedAndJoinedAndTheDateIsRequired() {
        Map<String, String> h = new LinkedHashMap<>();
        h.put("My-Header1", "  value1   with  spaces ");
        h.put("my-header1", "value2");
        h.put("X-Amz-Date", SigV4.amzDate(Instant.parse("2015-08-30T12:36:00Z")));
        Map<String, String> c = SigV4.canonicalHeaders(h);
        assertEquals("value1 with spaces,value2", c.get("my-header1"));
        assertEquals("20150830T123600Z", c.get("x-amz-date"));
        assertThrows(IllegalArgumentException.class,
                () -> SUITE_SIGNER.authorization(SUITE, "GET", "/", null, Map.of("host", "example.amazonaws.com"), SigV4.EMPTY_SHA256));
        assertFalse(new SigV4.Credentials("AKID", "the-secret", "the-token").toString().contains("secret"), "credentials print without the secret");
        assertFalse(new SigV4.Credentials("AKID", "the-secret", "the-token").toString().contains("the-token"));
    }
}
