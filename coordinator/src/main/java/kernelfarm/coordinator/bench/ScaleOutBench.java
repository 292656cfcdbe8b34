package kernelfarm.coordinator.bench;

import com.typesafe.config.ConfigFactory;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import kernelfarm.coordinator.Node;
import kernelfarm.coordinator.campaign.CampaignSpec;
import kernelfarm.protocol.DispatcherProtocol;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The control plane projected to a large farm: one coordinator node (entities, Dispatcher, the LLM client, the read
 * side) feeding simulated GPUs, each holding one lease for a fixed time per verdict (2.5 s by default, a typical
 * level-1/2 evaluation). For each farm size it runs a campaign with twice as many branches as GPUs, so the queue is
 * never empty, and prints the verdict rate the coordinator sustained against the rate the GPUs allow (GPUs / time per
 * verdict). Where the ratio falls, the coordinator (not the GPUs) has become the bottleneck. The simulated GPUs run
 * in the coordinator's JVM (BenchWorker), so the figure includes their share of its cores.
 *
 * <p>With {@code --worker-processes 1,2,3} it measures scale-out instead: real worker processes joining one
 * coordinator, each device taking a fixed fake evaluation time, and how verdicts per minute grow with them.
 */
@Command(name = "scale-out", mixinStandardHelpOptions = true,
    description = "Verdicts per second one coordinator sustains for simulated farms of 64, 256 and 1,024 GPUs; "
        + "with --worker-processes, verdicts per minute with 1, 2 and 3 real worker processes.")
final class ScaleOutBench implements Callable<Integer> {
  @Option(names = "--gpus", split = ",", defaultValue = "64,256,1024",
      description = "simulated farm sizes (default: ${DEFAULT-VALUE})")
  List<Integer> gpus;

  @Option(names = "--verdict-time", defaultValue = "PT2.5S", description = "one GPU's time per verdict (default: "
      + "${DEFAULT-VALUE})")
  Duration verdictTime;

  @Option(names = "--verdicts-per-gpu", defaultValue = "12", description = "verdicts each GPU gives in a run, so a "
      + "run lasts about this many verdict times (default: ${DEFAULT-VALUE})")
  int verdictsPerGpu;

  @Option(names = "--worker-processes", split = ",", description = "instead of simulated GPUs in this JVM: one "
      + "coordinator here and, in turn, this many real worker processes (JVMs of their own joining it, one device "
      + "each, evaluating by --fake-evaluation); prints verdicts per minute for each and the ratio to the first, "
      + "e.g. 1,2,3")
  List<Integer> workerProcesses;

  @Option(names = "--fake-evaluation", defaultValue = "PT2S", description = "with --worker-processes: each "
      + "device's fixed time per candidate, in place of the verifier (default: ${DEFAULT-VALUE})")
  Duration fakeEvaluation;

  @Option(names = "--window", defaultValue = "PT60S", description = "with --worker-processes: how long verdicts are "
      + "counted, after a warm-up (default: ${DEFAULT-VALUE})")
  Duration window;

  /** At least this share of what the GPUs allow, or the coordinator is the bottleneck. */
  private static final double TARGET_RATIO = 0.9;
  /** Verdicts per minute with 2 and 3 worker processes over 1: what adding a process must at least buy. */
  private static final Map<Integer, Double> TARGET_SPEEDUP = Map.of(2, 1.9, 3, 2.7);

  @Override
  public Integer call() throws Exception {
    if (workerProcesses != null) {
      return processes();
    }
    System.out.printf("%8s %10s %14s %14s %8s %8s%n", "GPUs", "branches", "allowed/s", "sustained/s", "ratio",
        "errors");
    boolean allMet = true;
    for (int n : gpus) {
      if (n < 1) {
        throw new IllegalArgumentException("--gpus: farm sizes must be at least 1, got " + n);
      }
      // Twice as many branches as GPUs: while half wait for their LLM answer and feedback, the other half keep every
      // GPU busy. Rounds per branch are set so each GPU judges about verdictsPerGpu candidates.
      int problems = Math.max(1, n / 64);
      int branches = (2 * n + problems - 1) / problems;
      int rounds = Math.max(1, verdictsPerGpu / 2);
      ControlPlaneBench plane = CommandLine.populateCommand(new ControlPlaneBench(), "--problems",
          Integer.toString(problems), "--branches", Integer.toString(branches), "--rounds", Integer.toString(rounds),
          "--verdict-latency", verdictTime.toString(), "--worker-slots", Integer.toString(n));
      try (ControlPlaneBench.Fixture fixture = plane.fixture()) {
        ControlPlaneBench.Run run = plane.controlPlane(fixture, null);
        double allowed = n / (verdictTime.toNanos() / 1e9);
        double ratio = run.steadyRoundsPerSecond() / allowed;
        long errors = run.llmErrors() + run.planned() - run.judged();
        allMet &= ratio >= TARGET_RATIO && errors == 0;
        System.out.printf("%8d %10d %14.1f %14.1f %8.2f %8d%n", n, problems * branches, allowed,
            run.steadyRoundsPerSecond(), ratio, errors);
      }
    }
    System.out.printf("sustained: verdicts per second from the first full wave to the end; target ratio >= %.2f; "
        + "%d cores%n", TARGET_RATIO, Runtime.getRuntime().availableProcessors());
    return allMet ? 0 : 1;
  }

  /**
   * Real worker processes against one coordinator: for each count, a fresh coordinator node in this JVM (its own H2
   * file, the fake LLM answering at once) and that many {@code kfarm node --roles worker} JVMs joining it, each
   * with one simulated device that takes {@code --fake-evaluation} per candidate (BenchWorker, bench mode only).
   * Every count runs the same campaign, with more branches than devices, so the queue never runs dry and evaluation
   * is the bottleneck; verdicts are counted by the Dispatcher over the window after a warm-up.
   */
  private int processes() throws Exception {
    int most = workerProcesses.stream().mapToInt(Integer::intValue).max().orElse(1);
    if (workerProcesses.stream().anyMatch(n -> n < 1)) {
      throw new IllegalArgumentException("--worker-processes: counts must be at least 1, got " + workerProcesses);
    }
    if (fakeEvaluation.isZero() || fakeEvaluation.isNegative()) {
      throw new IllegalArgumentException("--fake-evaluation must be positive, got " + fakeEvaluation);
    }
    ControlPlaneBench plane = CommandLine.populateCommand(new ControlPlaneBench());
    Map<Integer, Double> perMinute = new LinkedHashMap<>();
    try (ControlPlaneBench.Fixture fixture = plane.fixture()) {
      System.out.printf("%9s %14s %14s %8s%n", "workers", "verdicts/min", "allowed/min", "ratio");
      for (int n : workerProcesses) {
        double rate = verdictsPerMinute(fixture, n, 4 * most);
        perMinute.put(n, rate);
        double first = perMinute.values().iterator().next();
        System.out.printf("%9d %14.1f %14.1f %8.2f%n", n, rate, n * 60.0 / (fakeEvaluation.toMillis() / 1000.0),
            rate / first);
      }
    }
    int base = workerProcesses.get(0);
    boolean met = true;
    for (Map.Entry<Integer, Double> target : TARGET_SPEEDUP.entrySet()) {
      if (base == 1 && perMinute.containsKey(target.getKey())) {
        double ratio = perMinute.get(target.getKey()) / perMinute.get(1);
        met &= ratio >= target.getValue();
        System.out.printf("%d/1: %.2fx (target %.1fx)%n", target.getKey(), ratio, target.getValue());
      }
    }
    System.out.printf("fake evaluation %d ms per candidate; window %d s; %d cores on this host%n",
        fakeEvaluation.toMillis(), window.toSeconds(), Runtime.getRuntime().availableProcessors());
    return met ? 0 : 1;
  }

  private double verdictsPerMinute(ControlPlaneBench.Fixture fixture, int workers, int branches) throws Exception {
    Path dir = Files.createTempDirectory("kfarm-scale-out");
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    var overrides = ConfigFactory.parseMap(Map.of(
        "pekko.cluster.roles", List.of("coordinator"),
        "pekko.remote.artery.canonical.port", port,
        "kernelfarm.store.url", "jdbc:h2:file:" + dir.resolve("kfarm"),
        "kernelfarm.coordinator.http.enabled", false,
        "kernelfarm.coordinator.prompts", ControlPlaneBench.promptsFolder()));
    try (Node node = Node.start(Node.config(overrides), new Node.Deps(Clock.systemUTC(), fixture.http(),
        fixture.endpoints()), true)) {
      List<Process> started = new ArrayList<>();
      try {
        for (int i = 0; i < workers; i++) {
          started.add(launchWorker(port, dir, i));
        }
        awaitWorkers(node, workers, started, dir);
        node.submit("scale-out-" + workers, ControlPlaneBench.spec(branches, CampaignSpec.MAX_ROUNDS,
                Duration.ofHours(1), fixture.endpoints()), ControlPlaneBench.generatedProblems(1))
            .toCompletableFuture().get(60, TimeUnit.SECONDS);
        // Warm-up: every device has had its first offer and the branches are past their first answers.
        Thread.sleep(fakeEvaluation.multipliedBy(5).plusSeconds(5).toMillis());
        long before = status(node).verdicts();
        long from = System.nanoTime();
        Thread.sleep(window.toMillis());
        long verdicts = status(node).verdicts() - before;
        return verdicts / ((System.nanoTime() - from) / 60e9);
      } finally {
        for (Process p : started) {
          p.destroy();
        }
        for (Process p : started) {
          if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
          }
        }
      }
    }
  }

  /** {@code kfarm node --roles worker} joining the coordinator, in bench mode: one device, the fake evaluation. */
  private Process launchWorker(int port, Path dir, int index) throws Exception {
    List<String> command = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Dkernelfarm.worker.bench.mode=on",
        "-Dkernelfarm.worker.bench.fake-evaluation=" + fakeEvaluation.toMillis() + "ms",
        "-cp", System.getProperty("java.class.path"), "kernelfarm.coordinator.Main", "node", "--roles", "worker",
        "--join", "127.0.0.1:" + port, "--port", "0");
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
        .redirectOutput(dir.resolve("worker-" + index + ".log").toFile());
    builder.environment().put("KFARM_DEVICES", "cpu");
    builder.environment().put("KFARM_WORK_DIR", dir.resolve("work-" + index).toString());
    return builder.start();
  }

  /** Until the Dispatcher has heard from every worker's device; a worker that exits fails the run with its log. */
  private static void awaitWorkers(Node node, int workers, List<Process> started, Path dir) throws Exception {
    long deadline = System.nanoTime() + Duration.ofMinutes(3).toNanos();
    while (status(node).workers().size() < workers) {
      for (int i = 0; i < started.size(); i++) {
        if (!started.get(i).isAlive()) {
          throw new IllegalStateException("worker process " + i + " exited:\n"
              + Files.readString(dir.resolve("worker-" + i + ".log")));
        }
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("only " + status(node).workers().size() + " of " + workers
            + " worker processes asked for work within 3 minutes; logs in " + dir);
      }
      Thread.sleep(500);
    }
  }

  private static DispatcherProtocol.FarmStatus status(Node node) throws Exception {
    return AskPattern.<DispatcherProtocol.Command, DispatcherProtocol.FarmStatus>ask(node.dispatcher(),
            DispatcherProtocol.GetStatus::new, Duration.ofSeconds(30), node.system().scheduler())
        .toCompletableFuture().get(60, TimeUnit.SECONDS);
  }
}
