package kernelfarm.coordinator.bench;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The control plane projected to a large farm: one coordinator node (entities, Dispatcher, the LLM client, the read
 * side) feeding simulated GPUs, each holding one lease for a fixed time per verdict (2.5 s by default, a typical
 * level-1/2 evaluation). For each farm size it runs a campaign with twice as many branches as GPUs, so the queue is
 * never empty, and prints the verdict rate the coordinator sustained against the rate the GPUs allow (GPUs / time per
 * verdict). Where the ratio falls, the coordinator (not the GPUs) has become the bottleneck. The simulated GPUs run
 * in the coordinator's JVM (ControlPlaneBench's fake worker), so the figure includes their share of its cores.
 */
@Command(name = "scale-out", mixinStandardHelpOptions = true,
    description = "Verdicts per second one coordinator sustains for simulated farms of 64, 256 and 1,024 GPUs.")
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

  /** At least this share of what the GPUs allow, or the coordinator is the bottleneck. */
  private static final double TARGET_RATIO = 0.9;

  @Override
  public Integer call() throws Exception {
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
}
