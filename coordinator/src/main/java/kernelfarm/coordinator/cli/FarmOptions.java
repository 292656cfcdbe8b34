package kernelfarm.coordinator.cli;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
import kernelfarm.protocol.Backend;
import kernelfarm.protocol.VerifySettings;
import kernelfarm.worker.WorkerSettings;
import picocli.CommandLine.Option;

/** Options every command that runs a local farm shares: where and how candidates are judged. */
final class FarmOptions {
  @Option(names = "--backend", defaultValue = "auto",
      description = "cuda, triton or cpu; auto picks cuda on a GPU host, cpu elsewhere (default: ${DEFAULT-VALUE})")
  String backend;

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

  @Option(names = "--python", description = "interpreter with torch (kernelfarm.worker.python, KFARM_PYTHON)")
  String python;

  @Option(names = "--work-dir", description = "compile cache, scratch and logs (KFARM_WORK_DIR)")
  String workDir;

  @Option(names = "--compile-slots", description = "compile processes at once (0: three quarters of the cores)")
  Integer compileSlots;

  @Option(names = "--devices", description = "auto or cpu (KFARM_DEVICES)")
  String devices;

  Config config() {
    return overrides().withFallback(ConfigFactory.load());
  }

  /** Only what the options set, to lay over another base config (the cluster node's). */
  Config overrides() {
    Config config = ConfigFactory.empty();
    if (python != null) {
      config = config.withValue("kernelfarm.worker.python", ConfigValueFactory.fromAnyRef(python));
    }
    if (workDir != null) {
      config = config.withValue("kernelfarm.worker.work-dir", ConfigValueFactory.fromAnyRef(workDir));
    }
    if (compileSlots != null) {
      config = config.withValue("kernelfarm.worker.compile-slots", ConfigValueFactory.fromAnyRef(compileSlots));
    }
    if (devices != null) {
      config = config.withValue("kernelfarm.worker.devices", ConfigValueFactory.fromAnyRef(devices));
    }
    return config;
  }

  WorkerSettings workerSettings(Config config) {
    return WorkerSettings.from(config);
  }

  VerifySettings verifySettings() {
    return new VerifySettings(trials, atol, rtol, warmup, timingTrials, true, requireCustomKernel, seed,
        kernelbenchRules);
  }

  /** The backend for a candidate: its own header wins, then --backend, then what the devices can run. */
  Backend backendFor(String header, boolean gpuHost) {
    String chosen = header != null ? header : backend;
    if (chosen.equals("auto")) {
      return gpuHost ? Backend.CUDA : Backend.CPU;
    }
    try {
      return Backend.parse(chosen);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("--backend: " + e.getMessage() + " (or auto)");
    }
  }
}
