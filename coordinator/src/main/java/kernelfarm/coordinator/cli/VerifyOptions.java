package kernelfarm.coordinator.cli;

import kernelfarm.protocol.VerifySettings;
import picocli.CommandLine.Option;

/**
 * How each candidate is verified: what a local farm judges by ({@link FarmOptions}) and what a campaign submitted
 * to a remote coordinator asks for ({@code kfarm campaign submit}).
 */
final class VerifyOptions {
  @Option(names = "--require-custom-kernel",
      description = "reject candidates that launch no custom kernel (plain PyTorch, decoys, failed builds)")
  boolean requireCustomKernel;

  @Option(names = "--trials", defaultValue = "5", description = "correctness trials (default: ${DEFAULT-VALUE})")
  int trials;

  @Option(names = "--timing-trials", defaultValue = "100", description = "timed runs (default: ${DEFAULT-VALUE})")
  int timingTrials;

  @Option(names = "--warmup", defaultValue = "10", description = "warm-up runs (default: ${DEFAULT-VALUE})")
  int warmup;

  @Option(names = "--atol", defaultValue = "1e-2", description = "absolute tolerance (default: ${DEFAULT-VALUE})")
  double atol;

  @Option(names = "--rtol", defaultValue = "1e-2", description = "relative tolerance (default: ${DEFAULT-VALUE})")
  double rtol;

  @Option(names = "--seed", defaultValue = "42", description = "seed (default: ${DEFAULT-VALUE})")
  long seed;

  @Option(names = "--kernelbench-rules", defaultValue = "v0.1", description = "the KernelBench rules each "
      + "verdict's kernelbench answer follows: v0.1 (fp32 atol = rtol = 1e-2) or main (fp32 1e-4) "
      + "(default: ${DEFAULT-VALUE})")
  String kernelbenchRules;

  VerifySettings settings() {
    return new VerifySettings(trials, atol, rtol, warmup, timingTrials, true, requireCustomKernel, seed,
        kernelbenchRules);
  }
}
