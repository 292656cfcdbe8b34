package kernelfarm.protocol;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArraySet;
import java.util.regex.Pattern;

/**
 * Removes secrets from text that candidate code could have written (its output, its exceptions, its verdict) before
 * that text reaches a prompt, a result file, the store or a log. The sandbox already keeps secrets out of a
 * candidate's reach; this is the second wall, for whatever a host leaves readable.
 *
 * <p>Two kinds of secret: the values this JVM knows (every environment variable whose name says key, token, secret,
 * password or credential, and every API key it was handed, see {@link #register}), replaced wherever they occur;
 * and the shapes of common credentials (OpenAI- and NVIDIA-style keys, bearer tokens, AWS key ids, GitHub tokens,
 * private-key blocks), replaced by pattern.
 */
public final class Redaction {
  /** What a secret becomes. */
  public static final String MASK = "[redacted]";

  private static final Pattern SECRET_NAME =
      Pattern.compile("(?i).*(KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL).*");
  private static final List<Pattern> SHAPES = List.of(
      Pattern.compile("\\bsk-[A-Za-z0-9_\\-]{16,}"),
      Pattern.compile("\\bnvapi-[A-Za-z0-9_\\-]{16,}"),
      Pattern.compile("(?i)\\bbearer\\s+[A-Za-z0-9_\\-.=+/]{12,}"),
      Pattern.compile("\\b(?:AKIA|ASIA)[A-Z0-9]{16}\\b"),
      Pattern.compile("\\bgh[pousr]_[A-Za-z0-9]{30,}"),
      Pattern.compile("\\bhf_[A-Za-z0-9]{30,}"),
      Pattern.compile("-----BEGIN [A-Z ]*PRIVATE KEY-----[\\s\\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)"));
  /** Shorter values are too likely to be ordinary words or numbers to replace everywhere. */
  private static final int SHORTEST = 8;

  private static final Set<String> KNOWN = new CopyOnWriteArraySet<>();

  static {
    registerEnvironment(System.getenv());
  }

  private Redaction() {}

  /** Adds a value to replace wherever it appears, such as an API key read from a file or a flag. */
  public static void register(String secret) {
    if (secret != null && secret.strip().length() >= SHORTEST) {
      KNOWN.add(secret.strip());
    }
  }

  /** Registers the value of every variable whose name marks it as a secret. */
  public static void registerEnvironment(Map<String, String> environment) {
    environment.forEach((name, value) -> {
      if (SECRET_NAME.matcher(name).matches()) {
        register(value);
      }
    });
  }

  /** The text with every known secret and every credential-shaped string replaced by {@link #MASK}. */
  public static String scrub(String text) {
    if (text == null || text.isEmpty()) {
      return text;
    }
    String out = text;
    for (String secret : KNOWN) {
      if (out.contains(secret)) {
        out = out.replace(secret, MASK);
      }
    }
    for (Pattern shape : SHAPES) {
      out = shape.matcher(out).replaceAll(MASK);
    }
    return out;
  }

  /** Scrubs every string (values and field names) of a JSON tree in place, and returns it. */
  public static JsonNode scrub(JsonNode node) {
    if (node instanceof ObjectNode object) {
      List<String> names = new ArrayList<>();
      object.fieldNames().forEachRemaining(names::add);
      for (String name : names) {
        JsonNode child = object.get(name);
        String clean = scrub(name);
        if (!clean.equals(name)) {
          object.remove(name);
        }
        object.set(clean, scrubChild(child));
      }
    } else if (node instanceof ArrayNode array) {
      for (int i = 0; i < array.size(); i++) {
        array.set(i, scrubChild(array.get(i)));
      }
    }
    return node;
  }

  private static JsonNode scrubChild(JsonNode child) {
    if (child.isTextual()) {
      String clean = scrub(child.textValue());
      return clean.equals(child.textValue()) ? child : TextNode.valueOf(clean);
    }
    return scrub(child);
  }

  /** Whether the text holds anything {@link #scrub(String)} would replace; for tests and audits. */
  public static boolean leaks(String text) {
    return text != null && !scrub(text).equals(text);
  }
}
