package kernelfarm.coordinator.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigValueFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import kernelfarm.coordinator.cli.FarmOptions;
import kernelfarm.coordinator.cli.ProgressBar;
import kernelfarm.coordinator.dispatch.LocalFarm;
import kernelfarm.coordinator.problem.CandidateFile;
import kernelfarm.coordinator.problem.ProblemLibrary;
import kernelfarm.protocol.Candidate;
import kernelfarm.protocol.Status;
import kernelfarm.protocol.Verdict;
import kernelfarm.protocol.VerifySettings;
import kernelfarm.worker.WorkerSettings;
import kernelfarm.worker.device.Device;
import kernelfarm.worker.device.DeviceInventory;
import kernelfarm.worker.sandbox.HarnessLauncher;
import kernelfarm.worker.sandbox.HarnessProcess;
import kernelfarm.worker.sandbox.HarnessRequests;
import kernelfarm.worker.sandbox.HarnessSession;
import kernelfarm.worker.sandbox.SandboxEnvironment.Role;
import kernelfarm.worker.sandbox.Verdicts;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Verifies one set of compile-from-source candidates two ways in one run and prints candidates/hour for both:
 *
 * <ul>
 *   <li>one at a time, the way KernelBench's own script does: a fresh process per candidate that builds its
 *       extension from scratch, then checks and times it (reference re-timed every time);
 *   <li>through the farm: the CompilePool builds in processes with no GPU while the device evaluates, evaluation
 *       processes are pre-warmed, and a problem's reference timing is reused under drift control.
 * </ul>
 *
 * Both start cold (empty compile caches); both run the same harness, so verdicts must agree. The GPU-busy figure
 * is the share of wall time the device spent in evaluation (correctness to timing, as the harness measured it).
 * A third pass through a fresh farm over the same compile cache measures that share with the queue full: where
 * nvcc is slower than the device, the cold pass is compile-bound and its share says so.
 *
 * <p>With --deadline, each call runs baseline candidates until the deadline and stops; the call after the
 * baseline completes runs the two farm passes, so a per-call time limit never cuts them short.
 */
@Command(name = "verify-throughput", mixinStandardHelpOptions = true,
    description = "Candidates/hour one at a time vs. the farm's pipeline, on the same candidates.")
final class VerifyThroughputBench implements Callable<Integer> {
  @Option(names = "--problems", required = true, description = "a KernelBench checkout, folder or .jsonl")
  Path problems;

  @Option(names = "--candidates", required = true, description = "a folder of candidate .py files")
  Path candidates;

  @Option(names = "--limit", defaultValue = "0", description = "use only the first N candidates (0: all)")
  int limit;

  @Option(names = "--out", description = "write the figures and both verdict lists as JSON here")
  Path out;

  @Option(names = "--state", description = "keep the one-at-a-time results here, so a run cut short by "
      + "--deadline resumes where it stopped (the baseline is sequential: its time is the sum of its candidates')")
  Path state;

  @Option(names = "--deadline", defaultValue = "0",
      description = "seconds: start no baseline candidate after this (0: none); exits 3 until the baseline is done")
  int deadline;

  @Option(names = "--gpu-scaling", description = "instead: the farm's rate with one GPU and with every GPU of "
      + "this host, over cached builds (so compiling is not the limit), and which device judged each candidate")
  boolean gpuScaling;

  @Option(names = "--copies", defaultValue = "1", description = "with --gpu-scaling: each candidate this many times "
      + "(distinct sources), so every GPU gets enough work (default: ${DEFAULT-VALUE})")
  int copies;

  @Mixin
  FarmOptions farm;

  /**
   * @param windowSeconds from the first evaluation's start to the last verdict: the farm's start-up (evaluation
   *     processes importing torch, the first builds) left out; the whole wall for the one-at-a-time pass
   */
  private record Run(List<Verdict> verdicts, double wallSeconds, double evalSeconds, double windowSeconds) {}

  @Override
  public Integer call() throws Exception {
    if (gpuScaling) {
      return gpuScaling();
    }
    Config base = farm.config();
    WorkerSettings configured = farm.workerSettings(base);
    Path root = state != null ? state.toAbsolutePath() : configured.workDir().resolve("bench-"
        + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
    Config config = base.withValue("kernelfarm.worker.work-dir", ConfigValueFactory.fromAnyRef(
        root.resolve("pipeline-" + System.currentTimeMillis()).toString()));
    VerifySettings settings = farm.verifySettings();
    List<CandidateFile> files;
    List<Candidate> set;
    Device device;
    int slots;
    Run baseline;
    Run pipeline;
    ObjectMapper json;
    try (LocalFarm local = LocalFarm.start(config, farm.workerSettings(config))) {
      json = local.json();
      ProblemLibrary library = ProblemLibrary.load(problems, json);
      files = CandidateFile.readFolder(candidates, library);
      if (limit > 0 && files.size() > limit) {
        files = files.subList(0, limit);
      }
      device = local.devices().get(0);
      set = new ArrayList<>();
      for (CandidateFile f : files) {
        set.add(Candidate.of(f.problem().id(), farm.backendFor(f.header("backend"), device.gpu()), f.source()));
      }
      slots = local.worker().launcher().settings().compileSlots();
      System.err.printf("verify-throughput: %d candidates on %s, %d compile slots%n", set.size(),
          device.deviceType(), slots);
      local.awaitPrecompiledHeaders(device, "verify-throughput");
      int[] ranNow = {0};
      baseline = oneAtATime(local, json, files, set, settings, root.resolve("baseline"), device, ranNow);
      if (baseline == null) {
        return 3;
      }
      if (deadline > 0 && ranNow[0] > 0) {
        // Under a deadline the farm passes get a call of their own, so they are never cut short.
        System.out.printf("baseline complete (%d/%d); run again with --state %s for the farm passes%n",
            set.size(), set.size(), root);
        return 3;
      }
      pipeline = throughFarm(local, files, set, settings);
    }
    // Same work dir, so every build is in the compile cache: the device is never waiting for a compile, which
    // is the regime the GPU-busy target speaks of ("while the queue is full").
    Run queueFull;
    try (LocalFarm warm = LocalFarm.start(config, farm.workerSettings(config))) {
      queueFull = throughFarm(warm, files, set, settings);
    }
    return report(json, files, baseline, pipeline, queueFull, device, slots);
  }

  private Run oneAtATime(LocalFarm local, ObjectMapper json, List<CandidateFile> files, List<Candidate> set,
      VerifySettings settings, Path dir, Device device, int[] ranNow) throws IOException {
    WorkerSettings ws = local.worker().launcher().settings();
    HarnessLauncher launcher = local.worker().launcher();
    ProgressBar bar = new ProgressBar(System.err, set.size());
    List<Verdict> verdicts = new ArrayList<>();
    double evalSeconds = 0;
    double wallSeconds = 0;
    Path record = dir.resolve("done.jsonl");
    Map<String, JsonNode> finished = readDone(json, record);
    long started = System.nanoTime();
    for (int i = 0; i < set.size(); i++) {
      Candidate c = set.get(i);
      JsonNode previous = finished.get(files.get(i).name());
      if (previous != null) {
        Verdict v = json.convertValue(previous.get("verdict"), Verdict.class);
        verdicts.add(v);
        wallSeconds += previous.get("seconds").asDouble();
        evalSeconds += evaluationSeconds(v);
        bar.advance(v.status());
        continue;
      }
      if (deadline > 0 && (System.nanoTime() - started) / 1e9 > deadline) {
        bar.finish();
        System.out.printf("baseline incomplete: %d/%d done; run again with --state %s to resume%n",
            verdicts.size(), set.size(), dir.getParent());
        return null;
      }
      long one = System.nanoTime();
      HarnessRequests.Job job = HarnessRequests.prepare(dir, c, files.get(i).problem(),
          dir.resolve("builds").resolve(Integer.toString(i)), settings);
      HarnessProcess process = launcher.start(Role.EVALUATE, c.backend(), device);
      String request = HarnessRequests.evaluate(json, job, process, "oneshot", null, ws.driftTrials(),
          ws.driftTolerance(), List.of());
      CompletableFuture<HarnessSession.Finished> done = new CompletableFuture<>();
      ActorRef<HarnessSession.Finished> sink = local.system().systemActorOf(
          Behaviors.receive(HarnessSession.Finished.class).onAnyMessage(f -> {
            done.complete(f);
            return Behaviors.stopped();
          }).build(), "baseline-" + i, Props.empty());
      local.system().systemActorOf(HarnessSession.create(c.id().value(), process, request, "load", ws::stageTimeout, sink),
          "baseline-session-" + i, Props.empty());
      HarnessSession.Finished f = done.join();
      Verdict v = Verdicts.of(json, f, c.id(), c.problemId());
      double seconds = (System.nanoTime() - one) / 1e9;
      wallSeconds += seconds;
      evalSeconds += evaluationSeconds(v);
      verdicts.add(v);
      appendDone(json, record, files.get(i).name(), seconds, v);
      ranNow[0]++;
      bar.advance(v.status());
    }
    bar.finish();
    return new Run(verdicts, wallSeconds, evalSeconds, wallSeconds);
  }

  private Run throughFarm(LocalFarm local, List<CandidateFile> files, List<Candidate> set, VerifySettings settings) {
    ProgressBar bar = new ProgressBar(System.err, set.size());
    long started = System.nanoTime();
    List<CompletableFuture<Verdict>> pending = new ArrayList<>();
    // The device's first evaluation starts where the first evaluated verdict's stages began; compile errors
    // never reach the device, so they do not open the window.
    double[] windowStart = {Double.MAX_VALUE};
    for (int i = 0; i < set.size(); i++) {
      pending.add(local.verify(set.get(i), files.get(i).problem(), settings).toCompletableFuture()
          .whenComplete((v, e) -> {
            if (v != null) {
              double doneAt = (System.nanoTime() - started) / 1e9;
              double onDevice = v.stageMillis().entrySet().stream().filter(s -> !s.getKey().equals("compile"))
                  .mapToDouble(s -> s.getValue()).sum() / 1000.0;
              if (onDevice > 0) {
                synchronized (windowStart) {
                  windowStart[0] = Math.min(windowStart[0], doneAt - onDevice);
                }
              }
              bar.advance(v.status());
            }
          }));
    }
    List<Verdict> verdicts = pending.stream().map(CompletableFuture::join).toList();
    double wall = (System.nanoTime() - started) / 1e9;
    bar.finish();
    double eval = verdicts.stream().mapToDouble(VerifyThroughputBench::evaluationSeconds).sum();
    double window = windowStart[0] == Double.MAX_VALUE ? wall : wall - Math.max(0, windowStart[0]);
    return new Run(verdicts, wall, eval, window);
  }

  /**
   * A cold pass over every device fills the compile cache; then a fresh farm with the first device alone and one
   * with every device judge the same candidates from that cache. Prints both rates (over the whole pass and from
   * the first evaluation on), their ratio against the device count, the verdicts per device, and whether every
   * verdict came from a process pinned to the device that reported it.
   */
  private int gpuScaling() throws Exception {
    Config config = farm.config().withValue("kernelfarm.worker.work-dir", ConfigValueFactory.fromAnyRef(
        Files.createTempDirectory("kfarm-gpu-scaling").toString()));
    WorkerSettings workerSettings = farm.workerSettings(config);
    List<Device> all = DeviceInventory.discover(workerSettings.devices());
    VerifySettings settings = farm.verifySettings();
    List<CandidateFile> files = new ArrayList<>();
    List<Candidate> set = new ArrayList<>();
    Run cold;
    Run one;
    Run every;
    try (LocalFarm local = LocalFarm.start(config, workerSettings, all)) {
      ProblemLibrary library = ProblemLibrary.load(problems, local.json());
      for (CandidateFile f : CandidateFile.readFolder(candidates, library)) {
        for (int k = 0; k < copies; k++) {
          CandidateFile copy = k == 0 ? f
              : new CandidateFile(f.path(), f.source() + "\n# copy " + k + "\n", f.problem(), f.headers());
          files.add(copy);
          set.add(Candidate.of(copy.problem().id(), farm.backendFor(copy.header("backend"), all.get(0).gpu()),
              copy.source()));
        }
      }
      System.err.printf("gpu-scaling: %d candidates, %d devices; cold pass (fills the compile cache)%n", set.size(),
          all.size());
      cold = throughFarm(local, files, set, settings);
    }
    try (LocalFarm local = LocalFarm.start(config, workerSettings, all.subList(0, 1))) {
      one = throughFarm(local, files, set, settings);
    }
    try (LocalFarm local = LocalFarm.start(config, workerSettings, all)) {
      every = throughFarm(local, files, set, settings);
    }
    int n = set.size();
    Map<Integer, Integer> perDevice = new TreeMap<>();
    List<String> strays = new ArrayList<>();
    List<String> differing = new ArrayList<>();
    for (Run run : List.of(cold, one, every)) {
      for (Verdict v : run.verdicts()) {
        if (v.device() != null && !all.get(v.device().index()).pinnedIn(v.environment())) {
          strays.add(v.candidateId().value() + " reported by device " + v.device().index() + " but ran on "
              + v.environment().visibleDevices());
        }
      }
    }
    for (int i = 0; i < n; i++) {
      Verdict v = every.verdicts().get(i);
      if (v.device() != null) { // a compile error never reaches a device
        perDevice.merge(v.device().index(), 1, Integer::sum);
      }
      if (v.status() != one.verdicts().get(i).status() || v.status() != cold.verdicts().get(i).status()) {
        differing.add(files.get(i).name() + ": " + cold.verdicts().get(i).status() + " / "
            + one.verdicts().get(i).status() + " / " + v.status());
      }
    }
    System.out.printf("devices: %d x %s; candidates: %d (%d x %d copies)%n", all.size(), all.get(0).deviceType(), n,
        n / copies, copies);
    System.out.printf("cold pass, every device: %.1f s%n", cold.wallSeconds());
    double oneRate = n / one.wallSeconds() * 3600;
    double everyRate = n / every.wallSeconds() * 3600;
    double oneSteady = n / one.windowSeconds() * 3600;
    double everySteady = n / every.windowSeconds() * 3600;
    System.out.printf("1 device:  %.1f s, %.0f candidates/hour (%.0f from the first evaluation on)%n",
        one.wallSeconds(), oneRate, oneSteady);
    System.out.printf("%d devices: %.1f s, %.0f candidates/hour (%.0f from the first evaluation on)%n", all.size(),
        every.wallSeconds(), everyRate, everySteady);
    System.out.printf("scaling: %.2fx on %d devices = %.2f x N (from the first evaluation on: %.2fx = %.2f x N)%n",
        everyRate / oneRate, all.size(), everyRate / oneRate / all.size(), everySteady / oneSteady,
        everySteady / oneSteady / all.size());
    System.out.println("verdicts per device (all devices): " + perDevice);
    System.out.println(strays.isEmpty() ? "pinning: every verdict came from a process pinned to its own device"
        : "pinning VIOLATED for " + strays.size() + ": " + strays);
    System.out.println(differing.isEmpty() ? "verdicts: identical statuses in all three passes"
        : "verdicts DIFFER for " + differing.size() + ": " + differing);
    return strays.isEmpty() && differing.isEmpty() ? 0 : 1;
  }

  private static Map<String, JsonNode> readDone(ObjectMapper json, Path record) throws IOException {
    Map<String, JsonNode> done = new HashMap<>();
    if (Files.exists(record)) {
      for (String line : Files.readAllLines(record)) {
        if (!line.isBlank()) {
          JsonNode node = json.readTree(line);
          done.put(node.get("file").asText(), node);
        }
      }
    }
    return done;
  }

  private static void appendDone(ObjectMapper json, Path record, String file, double seconds, Verdict v)
      throws IOException {
    ObjectNode node = json.createObjectNode();
    node.put("file", file);
    node.put("seconds", seconds);
    node.set("verdict", json.valueToTree(v));
    Files.createDirectories(record.getParent());
    Files.writeString(record, json.writeValueAsString(node) + "\n", StandardOpenOption.CREATE,
        StandardOpenOption.APPEND);
  }

  /**
   * Seconds the device spent on this candidate: correctness, anti-cheat and timing. Load is left out on both
   * sides: one at a time it holds the whole nvcc build (the device idles), in the farm it is a cached import.
   */
  private static double evaluationSeconds(Verdict v) {
    return v.stageMillis().entrySet().stream()
        .filter(e -> List.of("correctness", "anticheat", "timing").contains(e.getKey()))
        .mapToDouble(e -> e.getValue()).sum() / 1000.0;
  }

  private int report(ObjectMapper json, List<CandidateFile> files, Run baseline, Run pipeline, Run queueFull,
      Device device, int slots) throws Exception {
    int n = files.size();
    double rateBaseline = n / baseline.wallSeconds() * 3600;
    double ratePipeline = n / pipeline.wallSeconds() * 3600;
    List<String> differing = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      Status a = baseline.verdicts().get(i).status();
      if (a != pipeline.verdicts().get(i).status() || a != queueFull.verdicts().get(i).status()) {
        differing.add(files.get(i).name() + ": " + a + " vs " + pipeline.verdicts().get(i).status() + " vs "
            + queueFull.verdicts().get(i).status());
      }
    }
    System.out.printf("%-46s %-13s %-13s %9s %9s%n", "candidate", "one-at-a-time", "farm", "speedup1", "speedup2");
    for (int i = 0; i < n; i++) {
      Verdict a = baseline.verdicts().get(i);
      Verdict b = pipeline.verdicts().get(i);
      System.out.printf("%-46s %-13s %-13s %9s %9s%n", files.get(i).name(), a.status(), b.status(), speedup(a),
          speedup(b));
    }
    double busyWhole = pipeline.evalSeconds() / pipeline.wallSeconds();
    double busyFull = queueFull.evalSeconds() / queueFull.wallSeconds();
    System.out.printf("device: %s; candidates: %d; compile slots: %d%n", device.deviceType(), n, slots);
    System.out.printf("one at a time: %.1f s wall, %.1f s/candidate, %.0f candidates/hour, device busy %.0f%%%n",
        baseline.wallSeconds(), baseline.wallSeconds() / n, rateBaseline,
        100 * baseline.evalSeconds() / baseline.wallSeconds());
    System.out.printf("farm pipeline: %.1f s wall, %.1f s/candidate, %.0f candidates/hour%n",
        pipeline.wallSeconds(), pipeline.wallSeconds() / n, ratePipeline);
    System.out.printf("ratio: %.2fx%n", ratePipeline / rateBaseline);
    System.out.printf("device busy (farm): %.0f%% of its wall time%n", 100 * busyWhole);
    System.out.printf("farm, builds cached (queue full): %.1f s wall, %.0f candidates/hour, device busy %.0f%%"
        + " of its wall time, %.0f%% from its first evaluation on (%.1f s of start-up before it)%n",
        queueFull.wallSeconds(), files.size() / queueFull.wallSeconds() * 3600, 100 * busyFull,
        100 * queueFull.evalSeconds() / queueFull.windowSeconds(),
        queueFull.wallSeconds() - queueFull.windowSeconds());
    System.out.println(differing.isEmpty() ? "verdicts: identical statuses for all " + n + " candidates"
        : "verdicts DIFFER for " + differing.size() + ": " + differing);
    if (out != null) {
      Files.createDirectories(out);
      ObjectNode root = json.createObjectNode();
      root.put("device", device.deviceType());
      root.put("candidates", n);
      root.put("compileSlots", slots);
      root.put("oneAtATimeSeconds", baseline.wallSeconds());
      root.put("pipelineSeconds", pipeline.wallSeconds());
      root.put("oneAtATimePerHour", rateBaseline);
      root.put("pipelinePerHour", ratePipeline);
      root.put("ratio", ratePipeline / rateBaseline);
      root.put("deviceBusy", busyWhole);
      root.put("queueFullSeconds", queueFull.wallSeconds());
      root.put("deviceBusyQueueFull", busyFull);
      root.put("deviceBusyQueueFullFromFirstEvaluation", queueFull.evalSeconds() / queueFull.windowSeconds());
      ArrayNode both = root.putArray("verdicts");
      for (int i = 0; i < n; i++) {
        ObjectNode row = both.addObject();
        row.put("file", files.get(i).name());
        row.set("oneAtATime", json.valueToTree(baseline.verdicts().get(i)));
        row.set("pipeline", json.valueToTree(pipeline.verdicts().get(i)));
      }
      Files.writeString(out.resolve("verify-throughput.json"), json.writeValueAsString(root));
    }
    return differing.isEmpty() ? 0 : 1;
  }

  private static String speedup(Verdict v) {
    return v.correct() && v.timing() != null && v.timing().speedup() != null
        ? String.format("%.2fx", v.timing().speedup()) : "-";
  }
}
