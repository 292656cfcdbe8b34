package kernelfarm.coordinator.bench;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Spec;

/** {@code kfarm bench <name>}: benchmarks that time a baseline and KernelFarm in one run and print both. */
@Command(name = "bench", mixinStandardHelpOptions = true, description = "Benchmarks (each prints its figures).",
    subcommands = {VerifyThroughputBench.class, ControlPlaneBench.class, TimingFidelityBench.class,
        DashboardBench.class, ScaleOutBench.class})
public final class BenchCommand implements Runnable {
  @Spec
  CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(System.out);
  }
}
