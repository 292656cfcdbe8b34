package kernelfarm.coordinator.problem;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import kernelfarm.protocol.Problem;

/**
 * A candidate source file and the problem it answers. The problem comes from a {@code # kfarm-problem: <id>}
 * header, else from KernelBench's run naming ({@code level_1_problem_19_sample_0_kernel.py}), else from a file
 * name that starts with the problem's name. Other {@code # kfarm-<key>: <value>} header lines (backend,
 * require-custom-kernel, expect) are kept for the caller.
 */
public record CandidateFile(Path path, String source, Problem problem, Map<String, List<String>> headers) {
  private static final Pattern HEADER = Pattern.compile("^#\\s*kfarm-([a-z-]+):\\s*(.*?)\\s*$");
  private static final Pattern KERNELBENCH_RUN = Pattern.compile("level_?(\\d+)_problem_?(\\d+)");

  public CandidateFile {
    headers = Map.copyOf(headers);
  }

  public String header(String key) {
    List<String> values = headers.get(key);
    return values == null || values.isEmpty() ? null : values.get(0);
  }

  public List<String> headers(String key) {
    return headers.getOrDefault(key, List.of());
  }

  public String name() {
    return path.getFileName().toString();
  }

  /** A folder's candidates that could be read, and for each file that could not, why and what to do. */
  public record Folder(List<CandidateFile> files, Map<Path, String> errors) {}

  public static CandidateFile read(Path file, ProblemLibrary problems) {
    String source = text(file);
    Map<String, List<String>> headers = new LinkedHashMap<>();
    for (String line : source.lines().limit(40).toList()) {
      Matcher m = HEADER.matcher(line);
      if (m.matches()) {
        headers.computeIfAbsent(m.group(1), k -> new ArrayList<>()).add(m.group(2));
      }
    }
    return new CandidateFile(file, source, match(file, headers, problems), headers);
  }

  /** Every .py file of a folder (sorted), each matched to its problem; the first bad file fails them all. */
  public static List<CandidateFile> readFolder(Path folder, ProblemLibrary problems) {
    Folder read = readEach(folder, problems);
    if (!read.errors().isEmpty()) {
      throw new IllegalArgumentException(read.errors().values().iterator().next());
    }
    return read.files();
  }

  /** Every .py file of a folder (sorted); a file that cannot be read or matched is reported, the rest go on. */
  public static Folder readEach(Path folder, ProblemLibrary problems) {
    if (!Files.isDirectory(folder)) {
      throw new IllegalArgumentException("candidates: " + folder + " is not a folder of candidate .py files");
    }
    List<CandidateFile> files = new ArrayList<>();
    Map<Path, String> errors = new LinkedHashMap<>();
    try (Stream<Path> listing = Files.list(folder)) {
      for (Path path : listing.filter(p -> p.toString().endsWith(".py")).sorted().toList()) {
        try {
          files.add(read(path, problems));
        } catch (IllegalArgumentException | UncheckedIOException e) {
          errors.put(path, e.getMessage());
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list " + folder, e);
    }
    return new Folder(files, errors);
  }

  /** The file as UTF-8 Python source, or an error naming the file and the fix. */
  private static String text(Path file) {
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(file);
    } catch (IOException e) {
      throw new UncheckedIOException("candidate " + file + ": cannot be read (" + e.getMessage() + "); check that it "
          + "exists and is readable", e);
    }
    for (byte b : bytes) {
      if (b == 0) {
        throw new IllegalArgumentException("candidate " + file + ": is not a text file (it holds binary data); a "
            + "candidate is Python source that defines class ModelNew");
      }
    }
    String source;
    try {
      source = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
    } catch (CharacterCodingException e) {
      throw new IllegalArgumentException("candidate " + file + ": is not UTF-8 text; save it as UTF-8");
    }
    if (source.isBlank()) {
      throw new IllegalArgumentException("candidate " + file + ": is empty; a candidate defines class ModelNew");
    }
    return source;
  }

  private static Problem match(Path file, Map<String, List<String>> headers, ProblemLibrary problems) {
    List<String> declared = headers.get("problem");
    if (declared != null && !declared.isEmpty()) {
      return problems.get(declared.get(0));
    }
    if (problems.all().size() == 1) {
      return problems.all().get(0);
    }
    String stem = file.getFileName().toString().replaceFirst("\\.py$", "");
    Matcher run = KERNELBENCH_RUN.matcher(stem);
    if (run.find()) {
      Problem p = problems.byNumber(Integer.parseInt(run.group(1)), Integer.parseInt(run.group(2)));
      if (p != null) {
        return p;
      }
    }
    Problem best = null;
    for (Problem p : problems.all()) {
      if ((stem.equals(p.name()) || stem.startsWith(p.name()))
          && (best == null || p.name().length() > best.name().length())) {
        best = p;
      }
    }
    if (best == null) {
      throw new IllegalArgumentException("candidate " + file + ": cannot tell which problem it answers; add a line "
          + "\"# kfarm-problem: <id>\" (ids look like " + problems.all().stream().limit(2).map(Problem::id).toList()
          + ") or name it after the problem");
    }
    return best;
  }
}
