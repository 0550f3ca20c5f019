package io.nemorouter.providers.gemini;

import com.fasterxml.jackson.databind.JsonNode;
import io.nemorouter.core.openai.OpenAiJson;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;

/**
 * A Google service account's JSON key file ({@code "type": "service_account"}) as far as minting
 * tokens needs it: who it is ({@code client_email}), its RSA key ({@code private_key}, PEM of
 * PKCS#8) and where tokens are minted ({@code token_uri}).
 */
record ServiceAccountKey(String clientEmail, PrivateKey privateKey, String tokenUri) {
    static final String DEFAULT_TOKEN_URI = "https://oauth2.googleapis.com/token";

    /** Reads {@code file}; an {@link IllegalArgumentException} says what is wrong with it. */
    static ServiceAccountKey read(Path file) {
        JsonNode json;
        try {
            json = OpenAiJson.MAPPER.readTree(Files.readString(file));
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read " + file + ": " + e.getMessage());
        }
        String email = json.path("client_email").asText(null);
        String pem = json.path("private_key").asText(null);
        if (email == null || pem == null) {
            throw new IllegalArgumentException(file + " is not a service-account key file (it needs client_email and private_key)");
        }
        return new ServiceAccountKey(email, privateKey(pem, file), json.path("token_uri").asText(DEFAULT_TOKEN_URI));
    }

    private static PrivateKey privateKey(String pem, Path file) {
        String base64 = pem.replace("-----BEGIN PRIVATE KEY-----", "").replace("-----END PRIVATE KEY-----", "")
                .replaceAll("\\s", "");
        try {
            return KeyFactory.getInstance("RSA").generatePrivate(new PKCS8EncodedKeySpec(Base64.getDecoder().decode(base64)));
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            throw new IllegalArgumentException("the private_key of " + file + " is not an RSA key in PKCS#8 PEM: " + e.getMessage());
        }
    }

    /** Its record would print the key: the account's name only. */
    @Override
    public String toString() {
        return "ServiceAccountKey(" + clientEmail + ")";
    }
}
