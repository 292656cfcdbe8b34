package kernelfarm.coordinator.llm;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import kernelfarm.coordinator.campaign.FieldError;
import kernelfarm.coordinator.campaign.SpecException;
import kernelfarm.protocol.Redaction;

/**
 * Where a coordinator node's LLM endpoints come from: the {@code KFARM_LLM_*} environment, or an endpoints file.
 * Keys come from the environment only, never from a file; a file names the variable that holds each key. Every
 * bad entry is reported at once, as a {@link SpecException} whose {@link FieldError}s name the variable or the
 * file's field and the fix.
 *
 * <p>The environment, as comma-separated lists (one endpoint per base URL; a list of one value applies to all):
 * <pre>
 * KFARM_LLM_BASE_URL=http://gpu-a:8000/v1,http://gpu-b:8000/v1
 * KFARM_LLM_MODEL=deepseek-ai/deepseek-r1
 * KFARM_LLM_API_KEY=...                      (optional; one per URL, an empty entry for a server with none)
 * KFARM_LLM_MAX_CONCURRENCY=64,128           (optional; calls in flight per endpoint, default 64)
 * KFARM_LLM_NAME=vllm-a,vllm-b               (optional; default "default" for one URL, llm-1, llm-2, ... for more)
 * </pre>
 *
 * <p>The file, JSON:
 * <pre>
 * {"endpoints": [
 *   {"name": "nim-r1", "baseUrl": "https://integrate.api.nvidia.com/v1", "model": "deepseek-ai/deepseek-r1",
 *    "apiKeyEnv": "NVIDIA_API_KEY", "maxConcurrency": 64, "requestTimeout": "PT15M", "maxRetries": 4,
 *    "pricePerMillionInputTokens": 0.55, "pricePerMillionOutputTokens": 2.19},
 *   {"name": "local-vllm", "baseUrl": "http://gpu-box:8000/v1", "model": "deepseek-ai/DeepSeek-R1", "maxConcurrency": 256}
 * ]}
 * </pre>
 */
public final class LlmEndpoints {
  /** Reasoning answers take tens of seconds to minutes, so a farm needs many calls open per endpoint. */
  public static final int DEFAULT_MAX_CONCURRENCY = 64;
  // A reasoning model that writes 32k tokens at 50 tokens/s needs about 11 minutes.
  static final Duration DEFAULT_TIMEOUT = Duration.ofMinutes(15);
  static final int DEFAULT_RETRIES = 4;

  public static final String BASE_URL = "KFARM_LLM_BASE_URL";
  public static final String MODEL = "KFARM_LLM_MODEL";
  public static final String API_KEY = "KFARM_LLM_API_KEY";
  public static final String MAX_CONCURRENCY = "KFARM_LLM_MAX_CONCURRENCY";
  public static final String NAME = "KFARM_LLM_NAME";

  private static final Set<String> FILE_FIELDS = Set.of("name", "baseUrl", "model", "apiKeyEnv", "maxConcurrency",
      "requestTimeout", "maxRetries", "pricePerMillionInputTokens", "pricePerMillionOutputTokens");
  private static final String URL_FIX = "write the API root, e.g. http://localhost:8000/v1";

  private LlmEndpoints() {}

  /**
   * The endpoints the {@code KFARM_LLM_*} variables describe; empty when {@code KFARM_LLM_BASE_URL} is unset.
   *
   * @throws SpecException naming each bad variable (and entry) and its fix
   */
  public static List<LlmEndpoint> fromEnvironment(Map<String, String> env) {
    List<String> urls = list(env, BASE_URL);
    if (urls.isEmpty()) {
      return List.of();
    }
    int n = urls.size();
    List<FieldError> errors = new ArrayList<>();
    List<String> models = perEndpoint(env, MODEL, n, errors);
    List<String> keys = perEndpoint(env, API_KEY, n, errors);
    List<String> limits = perEndpoint(env, MAX_CONCURRENCY, n, errors);
    List<String> names = List.of();
    if (list(env, NAME).size() == 1 && n > 1) {
      errors.add(new FieldError(NAME, "names one endpoint, but " + BASE_URL + " lists " + n,
          "write one name per URL, comma-separated, or leave " + NAME + " unset"));
    } else {
      names = perEndpoint(env, NAME, n, errors);
    }
    if (list(env, MODEL).isEmpty()) {
      errors.add(new FieldError(MODEL, "must be set when " + BASE_URL + " is",
          "write the served model's name, e.g. deepseek-ai/deepseek-r1 (one for all URLs, or one per URL)"));
    }
    if (!errors.isEmpty()) {
      throw new SpecException(errors);
    }
    List<LlmEndpoint> endpoints = new ArrayList<>();
    Set<String> seen = new HashSet<>();
    for (int i = 0; i < n; i++) {
      String at = n == 1 ? "" : "[" + i + "]";
      String name = !names.isEmpty() ? names.get(i) : n == 1 ? "default" : "llm-" + (i + 1);
      URI url = uri(urls.get(i), BASE_URL + at, errors);
      String model = models.isEmpty() ? null : models.get(i);
      String key = keys.isEmpty() ? "" : keys.get(i);
      int limit = limits.isEmpty() ? DEFAULT_MAX_CONCURRENCY : positive(limits.get(i), MAX_CONCURRENCY + at,
          "write how many calls may be in flight at once, e.g. " + DEFAULT_MAX_CONCURRENCY, errors);
      if (!seen.add(name)) {
        errors.add(new FieldError(NAME + at, "\"" + name + "\" is listed twice", "give each URL its own name"));
      }
      if (url == null || limit < 1 || model == null || model.isBlank()) {
        if (model != null && model.isBlank()) {
          errors.add(new FieldError(MODEL + at, "is empty", "write the served model's name for this URL"));
        }
        continue;
      }
      if (!key.isBlank()) {
        // Redaction knows the variable's whole value; with a list, each key must be known on its own.
        Redaction.register(key);
      }
      Secret secret = key.isBlank() ? null : Secret.of(key);
      build(errors, BASE_URL + at, () -> new LlmEndpoint(name, url, model.strip(), secret, limit, DEFAULT_TIMEOUT,
          DEFAULT_RETRIES, 0, 0), endpoints);
    }
    if (!errors.isEmpty()) {
      throw new SpecException(errors);
    }
    return List.copyOf(endpoints);
  }

  /**
   * The endpoints of an endpoints file (see the class comment). A key is read from the variable named by
   * {@code apiKeyEnv} in {@code env}, and registered with {@link Redaction} so no output repeats it.
   *
   * @throws SpecException naming each bad field ({@code endpoints[1].baseUrl}) and its fix
   */
  public static List<LlmEndpoint> parse(ObjectMapper json, String text, Map<String, String> env) {
    JsonNode root;
    try {
      root = json.readTree(text);
    } catch (JsonProcessingException e) {
      String where = e.getLocation() == null ? "" : " at line " + e.getLocation().getLineNr() + ", column "
          + e.getLocation().getColumnNr();
      throw new SpecException(List.of(new FieldError("endpoints file", "is not valid JSON" + where,
          "write {\"endpoints\": [{\"name\": \"local-vllm\", \"baseUrl\": \"http://localhost:8000/v1\", "
              + "\"model\": \"deepseek-ai/DeepSeek-R1\", \"maxConcurrency\": 64}]}")));
    }
    JsonNode list = root == null ? null : root.get("endpoints");
    if (list == null || !list.isArray() || list.isEmpty()) {
      throw new SpecException(List.of(new FieldError("endpoints", "must be a non-empty JSON array",
          "write {\"endpoints\": [{\"name\": ..., \"baseUrl\": ..., \"model\": ...}]}")));
    }
    List<FieldError> errors = new ArrayList<>();
    Iterator<String> extra = root.fieldNames();
    while (extra.hasNext()) {
      String field = extra.next();
      if (!field.equals("endpoints")) {
        errors.add(new FieldError(field, "is not a field of an endpoints file", "remove it; the file holds "
            + "\"endpoints\" only"));
      }
    }
    List<LlmEndpoint> endpoints = new ArrayList<>();
    Set<String> names = new HashSet<>();
    for (int i = 0; i < list.size(); i++) {
      String at = "endpoints[" + i + "]";
      JsonNode e = list.get(i);
      if (!e.isObject()) {
        errors.add(new FieldError(at, "must be a JSON object", "write {\"name\": ..., \"baseUrl\": ..., "
            + "\"model\": ...}"));
        continue;
      }
      int before = errors.size();
      Iterator<String> fields = e.fieldNames();
      while (fields.hasNext()) {
        String field = fields.next();
        if (field.equals("apiKey")) {
          errors.add(new FieldError(at + ".apiKey", "a key never goes in a file",
              "put the key in an environment variable of the coordinator node and name it in \"apiKeyEnv\""));
        } else if (!FILE_FIELDS.contains(field)) {
          errors.add(new FieldError(at + "." + field, "is not a field of an endpoint",
              "check the spelling; known fields: " + new TreeSet<>(FILE_FIELDS)));
        }
      }
      String name = text(e, at, "name", "write a short label such as \"local-vllm\"", errors);
      if (name != null && !names.add(name)) {
        errors.add(new FieldError(at + ".name", "\"" + name + "\" is listed twice", "give each endpoint its own name"));
      }
      String url = text(e, at, "baseUrl", URL_FIX, errors);
      URI baseUrl = url == null ? null : uri(url, at + ".baseUrl", errors);
      String model = text(e, at, "model", "write the served model's name, e.g. \"deepseek-ai/deepseek-r1\"", errors);
      Secret key = null;
      if (e.has("apiKeyEnv")) {
        String variable = text(e, at, "apiKeyEnv", "write the name of the variable that holds the key", errors);
        String value = variable == null ? null : env.get(variable);
        if (variable != null && (value == null || value.isBlank())) {
          errors.add(new FieldError(at + ".apiKeyEnv", "names " + variable + ", which is not set",
              "export " + variable + " on this coordinator node, or drop apiKeyEnv for a server that needs no key"));
        } else if (value != null) {
          Redaction.register(value);
          key = Secret.of(value);
        }
      }
      int limit = whole(e, at, "maxConcurrency", DEFAULT_MAX_CONCURRENCY, 1,
          "write how many calls may be in flight at once, e.g. " + DEFAULT_MAX_CONCURRENCY, errors);
      int retries = whole(e, at, "maxRetries", DEFAULT_RETRIES, 0, "write 0 to never retry, e.g. 4", errors);
      Duration timeout = duration(e, at, "requestTimeout", errors);
      double in = price(e, at, "pricePerMillionInputTokens", errors);
      double out = price(e, at, "pricePerMillionOutputTokens", errors);
      if (errors.size() > before) {
        continue;
      }
      Secret secret = key;
      build(errors, at, () -> new LlmEndpoint(name, baseUrl, model, secret, limit, timeout, retries, in, out),
          endpoints);
    }
    if (!errors.isEmpty()) {
      throw new SpecException(errors);
    }
    return List.copyOf(endpoints);
  }

  /** Each endpoint with {@code maxConcurrency} set to {@code limit}: the command line's {@code --llm-concurrency}. */
  public static List<LlmEndpoint> withMaxConcurrency(List<LlmEndpoint> endpoints, int limit) {
    if (limit < 1) {
      throw new SpecException(List.of(new FieldError("--llm-concurrency", "must be at least 1, got " + limit,
          "write how many calls each endpoint may have in flight, e.g. " + DEFAULT_MAX_CONCURRENCY)));
    }
    return endpoints.stream().map(e -> new LlmEndpoint(e.name(), e.baseUrl(), e.model(), e.apiKey(), limit,
        e.requestTimeout(), e.maxRetries(), e.pricePerMillionInputTokens(), e.pricePerMillionOutputTokens()))
        .toList();
  }

  private interface Maker {
    LlmEndpoint make();
  }

  /** The record's own checks (credentials in a URL, a bad scheme) become a FieldError of that entry. */
  private static void build(List<FieldError> errors, String field, Maker maker, List<LlmEndpoint> into) {
    try {
      into.add(maker.make());
    } catch (IllegalArgumentException e) {
      String message = e.getMessage();
      int fix = message.indexOf("; ");
      errors.add(fix < 0 ? new FieldError(field, message, "check the value")
          : new FieldError(field, message.substring(0, fix), message.substring(fix + 2)));
    }
  }

  private static List<String> list(Map<String, String> env, String variable) {
    String value = env.get(variable);
    if (value == null || value.isBlank()) {
      return List.of();
    }
    List<String> out = new ArrayList<>();
    for (String part : value.split(",", -1)) {
      out.add(part.strip());
    }
    return out;
  }

  /** The variable's list, one value per endpoint: as given, or one value repeated; empty when unset. */
  private static List<String> perEndpoint(Map<String, String> env, String variable, int n, List<FieldError> errors) {
    List<String> values = list(env, variable);
    if (values.isEmpty() || values.size() == n) {
      return values;
    }
    if (values.size() == 1) {
      return java.util.Collections.nCopies(n, values.get(0));
    }
    errors.add(new FieldError(variable, "lists " + values.size() + " values, but " + BASE_URL + " lists " + n,
        "write one value for all endpoints, or one per URL in the same order"));
    return List.of();
  }

  private static URI uri(String text, String field, List<FieldError> errors) {
    try {
      URI uri = new URI(text.strip());
      if (uri.getRawUserInfo() != null) {
        // Never echoed: a key pasted into the URL must not reach an error message.
        errors.add(new FieldError(field, "must not carry credentials", "put the key in " + API_KEY
            + " (or a file's apiKeyEnv) and " + URL_FIX));
        return null;
      }
      return uri;
    } catch (URISyntaxException e) {
      errors.add(new FieldError(field, "is not a URL (" + e.getReason() + ")", URL_FIX));
      return null;
    }
  }

  private static int positive(String text, String field, String fix, List<FieldError> errors) {
    try {
      int value = Integer.parseInt(text.strip());
      if (value >= 1) {
        return value;
      }
      errors.add(new FieldError(field, "must be at least 1, got " + value, fix));
    } catch (NumberFormatException e) {
      errors.add(new FieldError(field, "must be a whole number, got \"" + text + "\"", fix));
    }
    return 0;
  }

  private static String text(JsonNode e, String at, String field, String fix, List<FieldError> errors) {
    JsonNode value = e.get(field);
    if (value == null || value.isNull()) {
      errors.add(new FieldError(at + "." + field, "missing", fix));
      return null;
    }
    if (!value.isTextual() || value.asText().isBlank()) {
      errors.add(new FieldError(at + "." + field, "must be a non-empty string", fix));
      return null;
    }
    return value.asText().strip();
  }

  private static int whole(JsonNode e, String at, String field, int otherwise, int min, String fix,
      List<FieldError> errors) {
    JsonNode value = e.get(field);
    if (value == null) {
      return otherwise;
    }
    if (!value.isInt() || value.asInt() < min) {
      errors.add(new FieldError(at + "." + field, "must be a whole number of at least " + min + ", got " + value,
          fix));
      return otherwise;
    }
    return value.asInt();
  }

  private static Duration duration(JsonNode e, String at, String field, List<FieldError> errors) {
    JsonNode value = e.get(field);
    if (value == null) {
      return DEFAULT_TIMEOUT;
    }
    String fix = "write an ISO-8601 duration such as \"PT15M\" (a long reasoning answer takes minutes)";
    try {
      Duration d = Duration.parse(value.asText());
      if (value.isTextual() && !d.isNegative() && !d.isZero()) {
        return d;
      }
    } catch (DateTimeParseException ex) {
      // reported below
    }
    errors.add(new FieldError(at + "." + field, "must be a positive ISO-8601 duration, got " + value, fix));
    return DEFAULT_TIMEOUT;
  }

  private static double price(JsonNode e, String at, String field, List<FieldError> errors) {
    JsonNode value = e.get(field);
    if (value == null) {
      return 0;
    }
    if (!value.isNumber() || !(value.asDouble() >= 0) || Double.isInfinite(value.asDouble())) {
      errors.add(new FieldError(at + "." + field, "must be a number >= 0, got " + value,
          "write USD per million tokens, e.g. 0.55, or leave it out when unknown"));
      return 0;
    }
    return value.asDouble();
  }
}
