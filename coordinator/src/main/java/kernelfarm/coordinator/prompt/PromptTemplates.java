package kernelfarm.coordinator.prompt;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import kernelfarm.protocol.Backend;

/**
 * The prompt files of a prompts/ folder, read once at startup so people can edit them without a rebuild (a restart
 * picks up changes). Loading checks that every file is there and uses only placeholders its renderer fills, so a
 * typo stops the start instead of the fortieth round of a campaign.
 */
public final class PromptTemplates {
  // Anything between double braces is a placeholder, so a misspelt or malformed one is reported, not sent.
  private static final Pattern PLACEHOLDER = Pattern.compile("\\{\\{\\s*([^{}]*?)\\s*}}");

  /** A template file, relative to the folder, and the placeholders its renderer fills. */
  public enum Template {
    SYSTEM("system.md", List.of("backend")),
    PROBLEM("problem.md", List.of("backend", "problem_source")),
    COMPILE_ERROR(feedback("COMPILE_ERROR"), common()),
    RUNTIME_ERROR(feedback("RUNTIME_ERROR"), common()),
    TIMEOUT(feedback("TIMEOUT"), common()),
    INCORRECT(feedback("INCORRECT"), common("first_mismatch", "trials_passed", "trials", "max_abs_error")),
    REJECTED(feedback("REJECTED"), common("check", "check_detail")),
    CORRECT_SLOWER(feedback("CORRECT_SLOWER"), common("speedup", "candidate_ms", "reference_ms")),
    CORRECT_FASTER(feedback("CORRECT_FASTER"), common("speedup", "candidate_ms", "reference_ms")),
    NO_CODE(feedback("NO_CODE"), List.of("round", "best_speedup"));

    private final String path;
    private final Set<String> placeholders;

    Template(String path, List<String> placeholders) {
      this.path = path;
      this.placeholders = Set.copyOf(placeholders);
    }

    /** The file, relative to the prompts folder, such as {@code feedback/INCORRECT.md}. */
    public String path() {
      return path;
    }

    /** The placeholder names this template may use. */
    public Set<String> placeholders() {
      return placeholders;
    }

    private static String feedback(String status) {
      return "feedback/" + status + ".md";
    }

    // Every verdict's feedback gets these; a status adds what only it has.
    private static List<String> common(String... extra) {
      List<String> all = new ArrayList<>(List.of("round", "best_speedup", "summary", "stage"));
      all.addAll(List.of(extra));
      return all;
    }
  }

  private final Path folder;
  private final Map<Template, String> texts;

  private PromptTemplates(Path folder, Map<Template, String> texts) {
    this.folder = folder;
    this.texts = texts;
  }

  /**
   * Reads and checks every template of the folder.
   *
   * @throws IllegalArgumentException listing every missing or unreadable file and every unknown placeholder, each
   *     with its fix
   */
  public static PromptTemplates load(Path folder) {
    Path dir = folder.toAbsolutePath().normalize();
    if (!Files.isDirectory(dir)) {
      throw new IllegalArgumentException("prompts folder " + dir + " does not exist; point the prompts setting at "
          + "KernelFarm's prompts/ folder or a copy of it");
    }
    List<String> errors = new ArrayList<>();
    Map<Template, String> texts = new EnumMap<>(Template.class);
    for (Template template : Template.values()) {
      Path file = dir.resolve(template.path());
      if (!Files.isRegularFile(file)) {
        errors.add(file + " is missing; copy " + template.path() + " from KernelFarm's prompts/ folder");
        continue;
      }
      String text;
      try {
        text = Files.readString(file, StandardCharsets.UTF_8);
      } catch (IOException e) {
        errors.add(file + " cannot be read (" + e + "); make it readable and save it as UTF-8");
        continue;
      }
      for (String name : placeholdersIn(text)) {
        if (!template.placeholders().contains(name)) {
          errors.add(file + " uses unknown placeholder {{" + name + "}}; fix its spelling or remove it. Known in "
              + template.path() + ": " + braced(template.placeholders()));
        }
      }
      texts.put(template, text);
    }
    if (!errors.isEmpty()) {
      throw new IllegalArgumentException("prompt templates in " + dir + " are not usable:\n  "
          + String.join("\n  ", errors));
    }
    return new PromptTemplates(dir, texts);
  }

  /**
   * The template with each placeholder replaced by its value, once: a value holding {@code {{...}}} stays as it is.
   * Values the template does not use are ignored.
   *
   * @throws IllegalArgumentException if a placeholder the template uses has no value, naming it
   */
  public String render(Template template, Map<String, String> values) {
    Matcher matcher = PLACEHOLDER.matcher(texts.get(template));
    StringBuilder out = new StringBuilder();
    while (matcher.find()) {
      String name = matcher.group(1);
      String value = values.get(name);
      if (value == null) {
        throw new IllegalArgumentException("no value for {{" + name + "}}, which " + folder.resolve(template.path())
            + " uses; values given: " + braced(values.keySet()));
      }
      matcher.appendReplacement(out, Matcher.quoteReplacement(value));
    }
    matcher.appendTail(out);
    return out.toString();
  }

  /** The system message of every branch. */
  public String system(Backend backend) {
    return render(Template.SYSTEM, Map.of("backend", backend.wireName()));
  }

  /** The first user message: the problem's source and the backend to write it for. */
  public String problem(Backend backend, String problemSource) {
    return render(Template.PROBLEM, Map.of("backend", backend.wireName(), "problem_source", problemSource));
  }

  private static Set<String> placeholdersIn(String text) {
    Set<String> names = new LinkedHashSet<>();
    Matcher matcher = PLACEHOLDER.matcher(text);
    while (matcher.find()) {
      names.add(matcher.group(1));
    }
    return names;
  }

  private static String braced(Set<String> names) {
    return new TreeSet<>(names).stream().map(n -> "{{" + n + "}}").collect(Collectors.joining(", "));
  }
}
