package kernelfarm.coordinator.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigValueFactory;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import kernelfarm.coordinator.cli.FarmOptions;
import kernelfarm.coordinator.dispatch.LocalFarm;
import kernelfarm.coordinator.problem.CandidateFile;
import kernelfarm.coordinator.problem.ProblemLibrary;
import kernelfarm.protocol.Candidate;
import kernelfarm.protocol.Problem;
import kernelfarm.protocol.Verdict;
import kernelfarm.protocol.VerifySettings;
import kernelfarm.protocol.Backend;
import kernelfarm.worker.WorkerSettings;
import kernelfarm.worker.device.Device;
import kernelfarm.worker.device.DeviceInventory;
import kernelfarm.worker.sandbox.Sandbox;
import kernelfarm.worker.sandbox.SandboxEnvironment;
import kernelfarm.worker.sandbox.SandboxEnvironment.Role;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Whether the farm's timings are the timings: a fixed set of references from a few microseconds to tens of
 * milliseconds, each timed KernelBench's way in one quiet process (events on the current stream, the baseline,
 * bench/quiet_kernelbench.py), then judged by the farm (the reference as its own candidate, so both sides of a
 * verdict are measured) twice alone and once under full load (the compile pool saturated with fresh builds and
 * interpreters warming). Prints, per size bucket, the farm's reference time over the quiet time: the median and
 * p90 alone and under load, and a reference's run-to-run spread between the two quiet-farm passes.
 */
@Command(name = "timing-fidelity", mixinStandardHelpOptions = true,
    description = "The farm's timings vs KernelBench's method in a quiet process, alone and under full load.")
final class TimingFidelityBench implements Callable<Integer> {
  @Option(names = "--load-candidates", description = "a folder of candidates whose builds load the host while "
      + "the references are timed (default: bench/corpus/cuda-throughput on a GPU, examples/candidates on a CPU)")
  Path loadCandidates;

  @Option(names = "--load-problems", description = "the problems the load candidates answer (default: "
      + "../shared/kernelbench/level1.jsonl on a GPU, examples/problems on a CPU)")
  Path loadProblems;

  @Option(names = "--no-load", description = "skip the pass under load")
  boolean noLoad;

  @Option(names = "--out", description = "write every figure as JSON here")
  Path out;

  @Mixin
  FarmOptions farm;

  /** One reference of the set: its name and KernelBench-format source. */
  private record Reference(String name, String code) {}

  @Override
  public Integer call() throws Exception {
    Config config = farm.config().withValue("kernelfarm.worker.reference-timing-reuse",
        ConfigValueFactory.fromAnyRef(false));
    boolean gpu = DeviceInventory.discover(farm.workerSettings(config).devices()).get(0).gpu();
    ObjectMapper json = new ObjectMapper();
    List<Reference> set = references(gpu);
    Path work = Files.createTempDirectory("kfarm-timing-fidelity");
    Path jsonl = work.resolve("references.jsonl");
    StringBuilder rows = new StringBuilder();
    for (int i = 0; i < set.size(); i++) {
      ObjectNode row = json.createObjectNode();
      row.put("level", 0).put("problem_id", i + 1).put("name", set.get(i).name()).put("code", set.get(i).code());
      rows.append(json.writeValueAsString(row)).append('\n');
    }
    Files.writeString(jsonl, rows.toString());
    ProblemLibrary library = ProblemLibrary.load(jsonl, json);
    VerifySettings settings = farm.verifySettings();

    System.err.printf("timing-fidelity: %d references on %s; quiet KernelBench-method pass%n", set.size(),
        gpu ? "the GPU" : "the CPU");
    Map<String, Double> quiet = quiet(jsonl, set, settings.timingTrials(), json, config);
    Map<String, Double> alone1;
    Map<String, Double> alone2;
    Map<String, Double> loaded = Map.of();
    try (LocalFarm local = LocalFarm.start(config, farm.workerSettings(config))) {
      local.awaitPrecompiledHeaders(local.devices().get(0), "timing-fidelity");
      System.err.println("timing-fidelity: the farm alone, twice");
      alone1 = farmPass(local, library, set, settings, "alone-1", List.of());
      alone2 = farmPass(local, library, set, settings, "alone-2", List.of());
      if (!noLoad) {
        List<CompletableFuture<Verdict>> load = startLoad(local, gpu, settings);
        System.err.printf("timing-fidelity: the farm under load (%d fresh builds in flight)%n", load.size());
        loaded = farmPass(local, library, set, settings, "loaded", load);
      }
    }
    print(set, quiet, alone1, alone2, loaded);
    if (out != null) {
      ObjectNode all = json.createObjectNode();
      all.putPOJO("quiet", quiet);
      all.putPOJO("alone1", alone1);
      all.putPOJO("alone2", alone2);
      all.putPOJO("loaded", loaded);
      all.put("device", gpu ? "gpu" : "cpu");
      Files.createDirectories(out);
      Files.writeString(out.resolve("timing-fidelity.json"), json.writerWithDefaultPrettyPrinter()
          .writeValueAsString(all));
    }
    return 0;
  }

  /** The fixed set: elementwise, softmax, a launch-bound chain of small ops, and matmuls, from µs to tens of ms. */
  static List<Reference> references(boolean gpu) {
    List<Reference> set = new ArrayList<>();
    for (int log2 : gpu ? new int[] {10, 14, 18, 22, 26} : new int[] {10, 14, 18, 21}) {
      set.add(new Reference("relu_2e" + log2, elementwise("torch.relu(x)", 1 << log2)));
    }
    for (int rows : gpu ? new int[] {64, 4096, 65536} : new int[] {64, 1024}) {
      set.add(new Reference("softmax_" + rows + "x1024", """
          import torch
          import torch.nn as nn

          class Model(nn.Module):
              def forward(self, x):
                  return torch.softmax(x, dim=-1)

          def get_inputs():
              return [torch.randn(%d, 1024)]

          def get_init_inputs():
              return []
          """.formatted(rows)));
    }
    for (int log2 : gpu ? new int[] {12, 20} : new int[] {12}) {
      set.add(new Reference("chain10_2e" + log2, elementwise(
          "torch.tanh(torch.sigmoid(torch.exp(-torch.abs(x * 2 + 1) - 1) * 3 + 0.5) * x - 0.25) + x", 1 << log2)));
    }
    for (int n : gpu ? new int[] {256, 1024, 4096, 8192} : new int[] {64, 256, 512}) {
      set.add(new Reference("matmul_" + n, """
          import torch
          import torch.nn as nn

          class Model(nn.Module):
              def forward(self, a, b):
                  return torch.matmul(a, b)

          def get_inputs():
              return [torch.randn(%d, %d), torch.randn(%d, %d)]

          def get_init_inputs():
              return []
          """.formatted(n, n, n, n)));
    }
    return set;
  }

  private static String elementwise(String expression, int elements) {
    return """
        import torch
        import torch.nn as nn

        class Model(nn.Module):
            def forward(self, x):
                return %s

        def get_inputs():
            return [torch.randn(%d)]

        def get_init_inputs():
            return []
        """.formatted(expression, elements);
  }

  private Map<String, Double> quiet(Path jsonl, List<Reference> set, int trials, ObjectMapper json, Config config)
      throws IOException, InterruptedException {
    Path script = jsonl.resolveSibling("quiet_kernelbench.py");
    try (InputStream in = getClass().getResourceAsStream("/bench/quiet_kernelbench.py")) {
      Files.write(script, in.readAllBytes());
    }
    WorkerSettings settings = farm.workerSettings(config);
    Device device = DeviceInventory.discover(settings.devices()).get(0);
    // The harness's own environment (interpreter on its PATH, its one device), without the sandbox: this
    // process runs only our measuring code.
    SandboxEnvironment environment = SandboxEnvironment.of(Role.EVALUATE, device.gpu() ? Backend.CUDA
        : Backend.CPU, device, settings, jsonl.getParent(), jsonl.getParent(), Sandbox.none(), System.getenv());
    List<String> names = set.stream().map(Reference::name).toList();
    ProcessBuilder builder = new ProcessBuilder("env", settings.python(), script.toString(), jsonl.toString(),
        String.join(",", names), Integer.toString(trials)).redirectError(ProcessBuilder.Redirect.INHERIT);
    builder.environment().clear();
    builder.environment().putAll(environment.environment());
    Process p = builder.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(30, TimeUnit.MINUTES) || p.exitValue() != 0) {
      throw new IllegalStateException("the quiet KernelBench-method pass failed (exit " + p.exitValue() + ")");
    }
    Map<String, Double> medians = new LinkedHashMap<>();
    for (String line : out.lines().filter(l -> l.startsWith("{")).toList()) {
      JsonNode row = json.readTree(line);
      medians.put(row.path("name").asText(), row.path("medianMs").asDouble());
    }
    return medians;
  }

  /** Each reference judged as its own candidate (a fresh source per pass); the farm's reference median by name. */
  private Map<String, Double> farmPass(LocalFarm local, ProblemLibrary library, List<Reference> set,
      VerifySettings settings, String pass, List<CompletableFuture<Verdict>> load) {
    Map<String, CompletableFuture<Verdict>> pending = new LinkedHashMap<>();
    for (Reference reference : set) {
      Problem problem = library.all().stream().filter(p -> p.name().equals(reference.name())).findFirst()
          .orElseThrow();
      String source = reference.code().replace("class Model(", "class ModelNew(") + "\n# " + pass + "\n";
      Candidate candidate = Candidate.of(problem.id(), farm.backendFor(null, local.devices().get(0).gpu()), source);
      pending.put(reference.name(), local.verify(candidate, problem, settings).toCompletableFuture());
    }
    Map<String, Double> medians = new LinkedHashMap<>();
    pending.forEach((name, future) -> {
      Verdict v = future.join();
      if (v.timing() == null) {
        System.err.printf("timing-fidelity: %s was not timed in pass %s: %s%n", name, pass, v.summary());
        return;
      }
      medians.put(name, v.timing().reference().medianMs());
    });
    // The load is left to the farm's close: its verdicts are not the point, only that it ran meanwhile.
    System.err.printf("timing-fidelity: %s done; load still in flight: %d of %d%n", pass,
        load.stream().filter(f -> !f.isDone()).count(), load.size());
    return medians;
  }

  /** Fresh copies (new sources, so new builds) of the load candidates, twice over: the compile pool stays full. */
  private List<CompletableFuture<Verdict>> startLoad(LocalFarm local, boolean gpu, VerifySettings settings) {
    Path folder = loadCandidates != null ? loadCandidates
        : Path.of(gpu ? "bench/corpus/cuda-throughput" : "examples/candidates");
    Path problems = loadProblems != null ? loadProblems
        : Path.of(gpu ? "../shared/kernelbench/level1.jsonl" : "examples/problems");
    if (!Files.isDirectory(folder) || !Files.exists(problems)) {
      System.err.println("timing-fidelity: no load candidates (" + folder + ", " + problems + "); give "
          + "--load-candidates and --load-problems");
      return List.of();
    }
    ProblemLibrary library = ProblemLibrary.load(problems, local.json());
    List<CompletableFuture<Verdict>> load = new ArrayList<>();
    int slots = local.worker().launcher().settings().compileSlots();
    List<CandidateFile> files = CandidateFile.readEach(folder, library).files();
    for (int copy = 0; load.size() < 2 * slots && !files.isEmpty() && copy < 8; copy++) {
      for (CandidateFile file : files) {
        String source = file.source() + "\n# load " + UUID.randomUUID() + "\n";
        Candidate c = Candidate.of(file.problem().id(), farm.backendFor(file.header("backend"), gpu), source);
        load.add(local.verify(c, file.problem(), settings).toCompletableFuture());
      }
    }
    return load;
  }

  private static void print(List<Reference> set, Map<String, Double> quiet, Map<String, Double> alone1,
      Map<String, Double> alone2, Map<String, Double> loaded) {
    System.out.printf("%-20s %10s %10s %10s %10s %10s%n", "reference", "quiet ms", "alone", "alone 2", "loaded",
        "spread");
    for (Reference r : set) {
      Double q = quiet.get(r.name());
      System.out.printf("%-20s %10.4f %10s %10s %10s %10s%n", r.name(), q == null ? Double.NaN : q,
          ratio(alone1.get(r.name()), q), ratio(alone2.get(r.name()), q), ratio(loaded.get(r.name()), q),
          alone1.containsKey(r.name()) && alone2.containsKey(r.name())
              ? String.format("%.1f%%", 100 * Math.abs(alone1.get(r.name()) / alone2.get(r.name()) - 1)) : "-");
    }
    String[] buckets = {"< 10 us", "10-100 us", "0.1-1 ms", "1-10 ms", ">= 10 ms"};
    double[] edges = {0, 0.01, 0.1, 1, 10, Double.MAX_VALUE};
    System.out.printf("%n%-10s %3s %12s %12s %12s %12s %10s  %s%n", "bucket", "n", "alone med", "alone p90",
        "loaded med", "loaded p90", "spread med", "target");
    boolean allMet = true;
    for (int b = 0; b < buckets.length; b++) {
      List<Double> alone = new ArrayList<>();
      List<Double> load = new ArrayList<>();
      List<Double> spread = new ArrayList<>();
      for (Reference r : set) {
        Double q = quiet.get(r.name());
        if (q == null || q < edges[b] || q >= edges[b + 1]) {
          continue;
        }
        if (alone1.containsKey(r.name())) {
          alone.add(alone1.get(r.name()) / q);
        }
        if (loaded.containsKey(r.name())) {
          load.add(loaded.get(r.name()) / q);
        }
        if (alone1.containsKey(r.name()) && alone2.containsKey(r.name())) {
          spread.add(Math.abs(alone1.get(r.name()) / alone2.get(r.name()) - 1));
        }
      }
      if (alone.isEmpty()) {
        continue;
      }
      double tolerance = b == 0 ? 0.10 : 0.05;
      boolean met = within(median(alone), tolerance) && quantile(alone, 0.9) <= 1.15
          && (load.isEmpty() || (within(median(load), tolerance) && quantile(load, 0.9) <= 1.15))
          && median(spread) < 0.02;
      allMet &= met;
      System.out.printf("%-10s %3d %12.3f %12.3f %12s %12s %9.1f%%  %s%n", buckets[b], alone.size(), median(alone),
          quantile(alone, 0.9), load.isEmpty() ? "-" : String.format("%.3f", median(load)),
          load.isEmpty() ? "-" : String.format("%.3f", quantile(load, 0.9)), 100 * median(spread),
          (met ? "met" : "MISSED") + " (median 1.00 +- " + tolerance + ", p90 <= 1.15, spread < 2%)");
    }
    System.out.println(allMet ? "every bucket within its target" : "some bucket missed its target");
  }

  private static boolean within(double ratio, double tolerance) {
    return Math.abs(ratio - 1) <= tolerance;
  }

  private static String ratio(Double farm, Double quiet) {
    return farm == null || quiet == null ? "-" : String.format("%.3f", farm / quiet);
  }

  private static double median(List<Double> values) {
    return quantile(values, 0.5);
  }

  private static double quantile(List<Double> values, double q) {
    if (values.isEmpty()) {
      return Double.NaN;
    }
    List<Double> sorted = values.stream().sorted().toList();
    int rank = Math.max(1, (int) Math.ceil(q * sorted.size()));
    return sorted.get(Math.min(sorted.size(), rank) - 1);
  }
}
