package kernelfarm.coordinator.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.AbstractMap;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import kernelfarm.coordinator.dispatch.LocalFarm;
import kernelfarm.coordinator.problem.CandidateFile;
import kernelfarm.coordinator.problem.ProblemLibrary;
import kernelfarm.protocol.Candidate;
import kernelfarm.protocol.Problem;
import kernelfarm.protocol.Status;
import kernelfarm.protocol.Verdict;
import kernelfarm.protocol.VerifySettings;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code kfarm verify}: judges one candidate, or a folder of them, on a local worker node (the same GpuWorkers,
 * compile pool and harness a cluster runs).
 */
@Command(name = "verify", mixinStandardHelpOptions = true,
    description = {"Verify candidate kernels against their PyTorch reference.",
        "  one:   kfarm verify --problem P.py --candidate C.py [--json]",
        "  batch: kfarm verify --problems <folder|KernelBench checkout|file.jsonl> --candidates <folder> [--out DIR]"})
final class VerifyCommand implements Callable<Integer> {
  @Option(names = "--problem", description = "the problem file (KernelBench format: Model, get_inputs, get_init_inputs)")
  Path problem;

  @Option(names = "--candidate", description = "the candidate file (defines ModelNew)")
  Path candidate;

  @Option(names = "--problems", description = "problems for a batch: a folder, a KernelBench checkout or a .jsonl")
  Path problems;

  @Option(names = "--candidates", description = "a folder of candidate .py files, matched to problems by header or name")
  Path candidates;

  @Option(names = "--out", description = "batch output folder (default: kfarm-results/<time>)")
  Path out;

  @Option(names = "--json", description = "print the verdict as JSON (top-level \"status\")")
  boolean json;

  @Mixin
  FarmOptions farm;

  @Override
  public Integer call() throws Exception {
    boolean single = problem != null || candidate != null;
    boolean batch = problems != null || candidates != null;
    if (single == batch || (single && (problem == null || candidate == null))
        || (batch && (problems == null || candidates == null))) {
      throw new IllegalArgumentException("give either --problem and --candidate (one candidate) or --problems and "
          + "--candidates (a batch)");
    }
    VerifySettings settings = farm.verifySettings();
    try (LocalFarm local = LocalFarm.start(farm.config(), farm.workerSettings(farm.config()))) {
      ObjectMapper mapper = local.json();
      boolean gpu = local.devices().get(0).gpu();
      if (single) {
        ProblemLibrary library = ProblemLibrary.load(problem, mapper);
        CandidateFile file = CandidateFile.read(candidate, library);
        Verdict v = verifyOne(local, file, gpu, settings).join();
        if (json) {
          System.out.println(mapper.writerWithDefaultPrettyPrinter().writeValueAsString(v));
        } else {
          Reports.print(System.out, v, file.name());
        }
        return v.correct() ? 0 : 1;
      }
      return batch(local, mapper, gpu, settings);
    }
  }

  private int batch(LocalFarm local, ObjectMapper mapper, boolean gpu, VerifySettings settings) throws Exception {
    ProblemLibrary library = ProblemLibrary.load(problems, mapper);
    CandidateFile.Folder read = CandidateFile.readEach(candidates, library);
    List<CandidateFile> files = read.files();
    read.errors().forEach((path, error) -> System.err.println("kfarm verify: skipped " + error));
    Path folder = out != null ? out : Path.of("kfarm-results",
        LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
    Files.createDirectories(folder);
    Path verdicts = folder.resolve("verdicts.jsonl");
    Files.deleteIfExists(verdicts);
    ProgressBar bar = new ProgressBar(System.err, files.size());
    List<CompletableFuture<Verdict>> pending = new ArrayList<>();
    for (CandidateFile file : files) {
      pending.add(verifyOne(local, file, gpu, settings).whenComplete((v, e) -> {
        if (v != null) {
          synchronized (this) {
            Reports.appendJsonLine(mapper, verdicts, v, file.name());
          }
          bar.advance(v.status());
        }
      }));
    }
    List<Map.Entry<Problem, Verdict>> results = new ArrayList<>();
    Map<Status, Integer> counts = new EnumMap<>(Status.class);
    for (int i = 0; i < files.size(); i++) {
      Verdict v = pending.get(i).join();
      results.add(new AbstractMap.SimpleEntry<>(files.get(i).problem(), v));
      counts.merge(v.status(), 1, Integer::sum);
    }
    bar.finish();
    Reports.writeEvalResults(mapper, folder.resolve("eval_results.json"), results);
    System.out.printf("%-36s %-13s %8s %-18s  %s%n", "candidate", "status", "speedup", "kernelbench", "why");
    Map<Boolean, Integer> kernelbenchCorrect = new java.util.HashMap<>();
    for (int i = 0; i < files.size(); i++) {
      Verdict v = results.get(i).getValue();
      String speedup = v.timing() != null && v.timing().speedup() != null && v.correct()
          ? String.format("%.2fx", v.timing().speedup()) : "-";
      System.out.printf("%-36s %-13s %8s %-18s  %s%n", files.get(i).name(), v.status(), speedup,
          kernelbench(v), headline(v));
      kernelbenchCorrect.merge(v.kernelbench() != null && v.kernelbench().correct(), 1, Integer::sum);
    }
    Map<String, String> brokenProblems = new java.util.TreeMap<>();
    results.stream().filter(r -> r.getValue().stage().equals("problem"))
        .forEach(r -> brokenProblems.putIfAbsent(r.getKey().id(), headline(r.getValue())));
    brokenProblems.forEach((id, why) -> System.out.printf("problem %s is broken (its candidates were not judged): %s%n",
        id, why));
    read.errors().forEach((path, error) -> System.out.printf("%-36s %-13s %8s  %s%n", path.getFileName(),
        "NOT_READ", "-", error));
    System.out.println("totals: " + counts + (read.errors().isEmpty() ? "" : ", not read: " + read.errors().size()));
    System.out.printf("correct: %d strict, %d by KernelBench %s's rules%n", counts.getOrDefault(Status.CORRECT, 0),
        kernelbenchCorrect.getOrDefault(true, 0), settings.kernelbenchRules());
    System.out.println("verdicts: " + verdicts + "\neval_results: " + folder.resolve("eval_results.json"));
    // Every readable candidate was judged; a file that could not be read still makes the run say so to scripts.
    return read.errors().isEmpty() ? 0 : 2;
  }

  /** KernelBench's answer in a few characters: correct and its speedup, or what it would say. */
  private static String kernelbench(Verdict v) {
    if (v.kernelbench() == null) {
      return "-";
    }
    if (!v.kernelbench().compiled()) {
      return "not compiled";
    }
    if (!v.kernelbench().correct()) {
      return "incorrect";
    }
    return v.kernelbench().speedup() != null ? String.format("correct %.2fx", v.kernelbench().speedup()) : "correct";
  }

  /** The line of the summary that says why: the failed check, the mismatch, the compiler error, the timing. */
  private static String headline(Verdict v) {
    List<String> lines = v.summary().lines().filter(l -> !l.isBlank() && !l.startsWith("Next:")
        && !l.startsWith("Compilation failed") && !l.startsWith("Error building")).toList();
    String line = lines.isEmpty() ? "" : v.correct() && lines.size() > 1 ? lines.get(1) : lines.get(0);
    return line.length() > 110 ? line.substring(0, 107) + "..." : line;
  }

  CompletableFuture<Verdict> verifyOne(LocalFarm local, CandidateFile file, boolean gpu, VerifySettings settings) {
    VerifySettings own = settings;
    if ("true".equals(file.header("require-custom-kernel")) && !settings.requireCustomKernel()) {
      own = new VerifySettings(settings.correctnessTrials(), settings.atol(), settings.rtol(), settings.warmupRuns(),
          settings.timingTrials(), settings.flushL2(), true, settings.seed());
    }
    Candidate c = Candidate.of(file.problem().id(), farm.backendFor(file.header("backend"), gpu), file.source());
    return local.verify(c, file.problem(), own).toCompletableFuture();
  }
}
