package kernelfarm.coordinator.cli;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
import kernelfarm.protocol.Backend;
import kernelfarm.protocol.VerifySettings;
import kernelfarm.worker.WorkerSettings;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Options every command that runs a local farm shares: where and how candidates are judged. Public for the
 * benchmarks ({@code kernelfarm.coordinator.bench}), which judge on a local farm too.
 */
public final class FarmOptions {
  @Option(names = "--backend", defaultValue = "auto",
      description = "cuda, triton or cpu; auto picks cuda on a GPU host, cpu elsewhere (default: ${DEFAULT-VALUE})")
  String backend;

  // Nested, so kfarm campaign submit takes the same verification flags without this farm's local ones.
  @Mixin
  VerifyOptions verify;

  @Option(names = "--python", description = "interpreter with torch (kernelfarm.worker.python, KFARM_PYTHON)")
  String python;

  @Option(names = "--work-dir", description = "compile cache, scratch and logs (KFARM_WORK_DIR)")
  String workDir;

  @Option(names = "--compile-slots", description = "compile processes at once (0: three quarters of the cores)")
  Integer compileSlots;

  @Option(names = "--devices", description = "auto or cpu (KFARM_DEVICES)")
  String devices;

  public Config config() {
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

  public WorkerSettings workerSettings(Config config) {
    return WorkerSettings.from(config);
  }

  public VerifySettings verifySettings() {
    return verify.settings();
  }

  /** The backend for a candidate: its own header wins, then --backend, then what the devices can run. */
  public Backend backendFor(String header, boolean gpuHost) {
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
