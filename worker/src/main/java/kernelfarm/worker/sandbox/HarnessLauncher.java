package kernelfarm.worker.sandbox;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import kernelfarm.protocol.Backend;
import kernelfarm.worker.WorkerSettings;
import kernelfarm.worker.device.Device;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts harness processes for this host: the one place that knows the harness folder, the interpreter and
 * whether network namespaces are available. Created once per node; checks at startup that the interpreter has
 * torch, so a misconfigured host fails with the key to fix, not with a thousand RUNTIME_ERRORs.
 */
public final class HarnessLauncher {
  private static final Logger log = LoggerFactory.getLogger(HarnessLauncher.class);
  private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss");

  private final WorkerSettings settings;
  private final Path harnessRoot;
  private final boolean unshareAvailable;
  private final ObjectMapper json;

  private HarnessLauncher(WorkerSettings settings, Path harnessRoot, boolean unshareAvailable, ObjectMapper json) {
    this.settings = settings;
    this.harnessRoot = harnessRoot;
    this.unshareAvailable = unshareAvailable;
    this.json = json;
  }

  public static HarnessLauncher create(WorkerSettings settings, ObjectMapper json) {
    Path root = HarnessInstall.extract(settings.workDir());
    boolean unshare = !settings.networkIsolation().equals("off") && succeeds(List.of("unshare", "--net", "true"));
    if (settings.networkIsolation().equals("on") && !unshare) {
      throw new IllegalStateException("kernelfarm.worker.network-isolation is \"on\" but `unshare --net` is not "
          + "permitted here; run the worker as root or set it to \"auto\"");
    }
    String torch = probeTorch(settings);
    log.atInfo().addKeyValue("python", settings.python()).addKeyValue("torch", torch)
        .addKeyValue("networkIsolation", unshare).addKeyValue("harness", root.getFileName().toString())
        .log("harness ready");
    return new HarnessLauncher(settings, root, unshare, json);
  }

  /** A new process with its own scratch folder; it imports torch (and brings the device up) while it waits. */
  public HarnessProcess start(SandboxEnvironment.Role role, Backend backend, Device device) {
    Path scratch = settings.workDir().resolve("runs").resolve(
        LocalDateTime.now().format(STAMP) + "-" + role.name().toLowerCase() + "-" + UUID.randomUUID().toString()
            .substring(0, 8));
    SandboxEnvironment sandbox = SandboxEnvironment.of(role, backend, device, settings, harnessRoot, scratch,
        unshareAvailable, System.getenv());
    return HarnessProcess.start(sandbox, scratch, json);
  }

  public WorkerSettings settings() {
    return settings;
  }

  public Path harnessRoot() {
    return harnessRoot;
  }

  public ObjectMapper json() {
    return json;
  }

  /** Whether harness processes run in their own network namespace on this host. */
  public boolean networkIsolated() {
    return unshareAvailable;
  }


  private static String probeTorch(WorkerSettings settings) {
    SandboxEnvironment env = SandboxEnvironment.of(SandboxEnvironment.Role.COMPILE, Backend.CPU, Device.cpu(),
        settings, Path.of("/nonexistent"), settings.workDir(), false, Map.of());
    // Through env, so the interpreter is found on the sandbox's PATH exactly as setsid will find it.
    List<String> command = new ArrayList<>(List.of("env", settings.python(), "-c",
        "import torch, sys; print(torch.__version__)"));
    try {
      ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
      builder.environment().clear();
      builder.environment().putAll(env.environment());
      Process p = builder.start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
      if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
        throw new IllegalStateException("kernelfarm.worker.python: \"" + settings.python() + "\" cannot import "
            + "torch (" + lastLine(out) + "); install torch for it or set KFARM_PYTHON to an interpreter that has it");
      }
      return lastLine(out);
    } catch (IOException e) {
      throw new IllegalStateException("kernelfarm.worker.python: \"" + settings.python() + "\" cannot be started ("
          + e.getMessage() + "); install Python 3 with torch or set KFARM_PYTHON", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while checking the harness interpreter", e);
    }
  }

  private static String lastLine(String text) {
    String[] lines = text.split("\n");
    return lines[lines.length - 1].trim();
  }

  private static boolean succeeds(List<String> command) {
    try {
      Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
      p.getInputStream().readAllBytes();
      return p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0;
    } catch (IOException | InterruptedException e) {
      return false;
    }
  }
}
