package kernelfarm.coordinator.problem;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import kernelfarm.protocol.Problem;

/**
 * Problems in KernelBench's format, from wherever a user keeps them: one problem file, a folder of problem files
 * (level 0), a KernelBench checkout ({@code levelN/*.py}, or its parent holding {@code KernelBench/levelN}), or a
 * JSON-lines file of {@code {level, problem_id, name, code}} rows. Ids are {@code levelN/<name>} ({@code <name>}
 * for a user's own folder), stable across all four forms.
 */
public final class ProblemLibrary {
  private static final Pattern LEVEL_DIR = Pattern.compile("level(\\d+)");
  private static final Pattern LEADING_NUMBER = Pattern.compile("^(\\d+)_");

  private final Map<String, Problem> byId;

  private ProblemLibrary(Map<String, Problem> byId) {
    this.byId = byId;
  }

  public static ProblemLibrary load(Path source, ObjectMapper json) {
    if (!Files.exists(source)) {
      throw new IllegalArgumentException("problems: " + source + " does not exist; give a problem file, a folder "
          + "of problem files, a KernelBench checkout or a JSON-lines file");
    }
    Map<String, Problem> problems = new LinkedHashMap<>();
    if (Files.isRegularFile(source) && source.toString().endsWith(".jsonl")) {
      readJsonLines(source, json).forEach(p -> problems.put(p.id(), p));
    } else if (Files.isRegularFile(source)) {
      Problem p = fromFile(source, levelOf(source.getParent()));
      problems.put(p.id(), p);
    } else {
      Path root = Files.isDirectory(source.resolve("KernelBench")) ? source.resolve("KernelBench") : source;
      List<Path> levels = list(root).stream()
          .filter(p -> Files.isDirectory(p) && LEVEL_DIR.matcher(p.getFileName().toString()).matches()).toList();
      if (!levels.isEmpty()) {
        levels.forEach(dir -> pythonFiles(dir).forEach(f -> {
          Problem p = fromFile(f, levelOf(dir));
          problems.put(p.id(), p);
        }));
      } else {
        int level = levelOf(root);
        pythonFiles(root).forEach(f -> {
          Problem p = fromFile(f, level);
          problems.put(p.id(), p);
        });
      }
    }
    if (problems.isEmpty()) {
      throw new IllegalArgumentException("problems: no problem found in " + source);
    }
    return new ProblemLibrary(problems);
  }

  public List<Problem> all() {
    return List.copyOf(byId.values());
  }

  public Problem get(String id) {
    Problem p = byId.get(id);
    if (p == null) {
      throw new IllegalArgumentException("problem \"" + id + "\" is not in this library; ids look like "
          + byId.keySet().stream().limit(3).toList());
    }
    return p;
  }

  public boolean has(String id) {
    return byId.containsKey(id);
  }

  /** The problem of KernelBench's numbering (level, problem_id), if present. */
  public Problem byNumber(int level, int problemId) {
    for (Problem p : byId.values()) {
      Matcher m = LEADING_NUMBER.matcher(p.name());
      if (p.level() == level && m.find() && Integer.parseInt(m.group(1)) == problemId) {
        return p;
      }
    }
    return null;
  }

  public static String idOf(int level, String name) {
    return level > 0 ? "level" + level + "/" + name : name;
  }

  private static List<Problem> readJsonLines(Path file, ObjectMapper json) {
    List<Problem> problems = new ArrayList<>();
    try {
      int lineNo = 0;
      for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
        lineNo++;
        if (line.isBlank()) {
          continue;
        }
        JsonNode row = json.readTree(line);
        for (String field : List.of("level", "name", "code")) {
          if (!row.hasNonNull(field)) {
            throw new IllegalArgumentException(file + " line " + lineNo + ": field \"" + field + "\" is missing; rows "
                + "look like {\"level\": 1, \"problem_id\": 19, \"name\": \"19_ReLU\", \"code\": \"...\"}");
          }
        }
        int level = row.get("level").asInt();
        String name = row.get("name").asText();
        problems.add(new Problem(idOf(level, name), level, name, row.get("code").asText()));
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file, e);
    }
    return problems;
  }

  private static Problem fromFile(Path file, int level) {
    String name = file.getFileName().toString().replaceFirst("\\.py$", "");
    try {
      return new Problem(idOf(level, name), level, name, Files.readString(file, StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file, e);
    }
  }

  private static int levelOf(Path dir) {
    if (dir == null) {
      return 0;
    }
    Matcher m = LEVEL_DIR.matcher(dir.getFileName() == null ? "" : dir.getFileName().toString());
    return m.matches() ? Integer.parseInt(m.group(1)) : 0;
  }

  private static List<Path> list(Path dir) {
    try (Stream<Path> s = Files.list(dir)) {
      return s.sorted().toList();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list " + dir, e);
    }
  }

  private static List<Path> pythonFiles(Path dir) {
    return list(dir).stream().filter(p -> p.toString().endsWith(".py") && Files.isRegularFile(p))
        .sorted(Comparator.comparing(ProblemLibrary::numericOrder)).toList();
  }

  private static String numericOrder(Path p) {
    Matcher m = LEADING_NUMBER.matcher(p.getFileName().toString());
    return m.find() ? String.format("%08d", Integer.parseInt(m.group(1))) + p.getFileName() : p.getFileName().toString();
  }
}
