package kernelfarm.coordinator.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import picocli.CommandLine.Option;

/**
 * The options and calls of commands that speak to a running coordinator's HTTP API instead of starting a node:
 * {@code --url} (KFARM_URL, default the local node's http://127.0.0.1:8480) and {@code --token} (KFARM_API_TOKEN),
 * sent as a bearer token. An API error comes back as an IllegalArgumentException carrying the API's own
 * field, problem and fix, which kfarm prints as is.
 */
final class RemoteApi {
  @Option(names = "--url", defaultValue = "${env:KFARM_URL:-http://127.0.0.1:8480}",
      description = "the coordinator's HTTP API (default: KFARM_URL, else ${DEFAULT-VALUE})")
  URI url;

  // From the environment by default, so it stays out of shell history and process listings.
  @Option(names = "--token", defaultValue = "${env:KFARM_API_TOKEN}", description = "the API token (default: "
      + "KFARM_API_TOKEN); needed for cancel, and for reads where the coordinator asks for it")
  String token;

  private final ObjectMapper json = new ObjectMapper();
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

  JsonNode get(String path) {
    return send(HttpRequest.newBuilder(resolve(path)).GET());
  }

  JsonNode post(String path) {
    return send(HttpRequest.newBuilder(resolve(path)).POST(HttpRequest.BodyPublishers.noBody()));
  }

  JsonNode post(String path, String jsonBody) {
    return send(HttpRequest.newBuilder(resolve(path)).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(jsonBody)));
  }

  /** The coordinator's JSON error: its HTTP status, and the message naming each field, problem and fix. */
  static final class ApiError extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;
    private final int status;

    ApiError(int status, String message) {
      super(message);
      this.status = status;
    }

    int status() {
      return status;
    }
  }

  /** A path segment, encoded: campaign ids are URL-safe, problem ids hold a '/'. */
  static String segment(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
  }

  private URI resolve(String path) {
    if (url.getScheme() == null || !url.getScheme().matches("(?i)https?") || url.getHost() == null) {
      throw new IllegalArgumentException("--url: \"" + url + "\" is no http(s) address; write the coordinator's "
          + "API address such as http://coordinator:8480");
    }
    String base = url.toString().replaceAll("/+$", "");
    return URI.create(base + path);
  }

  URI url() {
    return url;
  }

  private JsonNode send(HttpRequest.Builder request) {
    request.timeout(Duration.ofSeconds(30)).header("Accept", "application/json");
    if (token != null && !token.isBlank()) {
      request.header("Authorization", "Bearer " + token.strip());
    }
    HttpResponse<String> response;
    try {
      response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new IllegalStateException("cannot reach the coordinator at " + url + " (" + e + "); start one with "
          + "kfarm node, or give its address with --url or KFARM_URL", e);
    } catch (IllegalArgumentException e) {
      // The JDK's client refuses a URL it cannot send to (no host, a scheme other than http or https).
      throw new IllegalArgumentException("--url: " + url + " cannot be used (" + e.getMessage() + "); write the "
          + "coordinator's API address such as http://coordinator:8480", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
    JsonNode body;
    try {
      body = json.readTree(response.body());
    } catch (IOException e) {
      throw new IllegalStateException(url + " answered " + response.statusCode() + " with no JSON: is it a "
          + "KernelFarm coordinator?", e);
    }
    if (response.statusCode() >= 400) {
      StringBuilder why = new StringBuilder("the coordinator answered " + response.statusCode());
      body.path("errors").forEach(e -> why.append("; ").append(e.path("field").asText()).append(' ')
          .append(e.path("problem").asText()).append(" (").append(e.path("fix").asText()).append(')'));
      throw new ApiError(response.statusCode(), why.toString());
    }
    return body;
  }
}
