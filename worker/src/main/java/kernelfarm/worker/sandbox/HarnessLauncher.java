package kernelfarm.worker.sandbox;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import kernelfarm.protocol.Backend;
import kernelfarm.worker.WorkerSettings;
import kernelfarm.worker.device.CorePlan;
import kernelfarm.worker.device.Device;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts harness processes for this host: the one place that knows the harness folder, the interpreter and the
 * sandbox. Created once per node; checks at startup that the interpreter has torch and that the toolchain builds
 * C++ (and, with a CUDA torch, CUDA) extensions, so a misconfigured host fails with the key or package to fix, not
 * with a thousand verdicts blaming the candidates.
 */
public final class HarnessLauncher {
  private static final Logger log = LoggerFactory.getLogger(HarnessLauncher.class);
  private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss");

  /** The interpreter, what it can build, and the folders it needs, as the startup probe found them. */
  record Interpreter(String torch, List<Path> paths, List<String> missing, String toolchain) {}

  private final WorkerSettings settings;
  private final HarnessInstall harness;
  private final Sandbox sandbox;
  private final ObjectMapper json;
  private final String toolchain;
  private final CorePlan cores;
  /** Run folders whose process has not exited: never swept, however old, while something may still use them. */
  private final java.util.Set<Path> live = java.util.concurrent.ConcurrentHashMap.newKeySet();

  private HarnessLauncher(WorkerSettings settings, HarnessInstall harness, Sandbox sandbox, ObjectMapper json,
      String toolchain, CorePlan cores) {
    this.cores = cores;
    this.settings = settings;
    this.harness = harness;
    this.sandbox = sandbox;
    this.json = json;
    this.toolchain = toolchain;
  }

  /**
   * What builds depend on besides the source (compiler, nvcc, torch, headers, Python), as a short hash: part of
   * every compile cache key, so a fixed or upgraded toolchain never serves a build, or a failure, of the old one.
   */
  public String toolchain() {
    return toolchain;
  }

  /** Without core planning: for tools that start their own processes (benchmarks, the probe). */
  public static HarnessLauncher create(WorkerSettings settings, ObjectMapper json) {
    return create(settings, json, CorePlan.none());
  }

  public static HarnessLauncher create(WorkerSettings settings, ObjectMapper json, CorePlan cores) {
    HarnessInstall harness = HarnessInstall.extract(settings.workDir());
    Interpreter interpreter = probe(settings, json);
    if (!interpreter.missing().isEmpty()) {
      throw new IllegalStateException("this worker cannot build candidates: " + String.join("; ",
          interpreter.missing()) + ". Fix the host (Debian: deploy/setup-debian.sh) or point KFARM_PYTHON at an "
          + "interpreter whose torch has its C++ headers");
    }
    Sandbox sandbox = Sandbox.detect(settings, interpreter.paths());
    log.atInfo().addKeyValue("python", settings.python()).addKeyValue("torch", interpreter.torch())
        .addKeyValue("sandbox", sandbox.mode().wireName()).addKeyValue("gaps", sandbox.gaps())
        .addKeyValue("harness", harness.root().getFileName().toString()).log("harness ready");
    if (sandbox.mode() != Sandbox.Mode.NONE && !sandbox.gaps().isEmpty()) {
      log.atWarn().addKeyValue("gaps", sandbox.gaps()).log("the sandbox is weaker than it should be");
    }
    HarnessLauncher launcher = new HarnessLauncher(settings, harness, sandbox, json, interpreter.toolchain(), cores);
    launcher.scheduleSweeps();
    return launcher;
  }

  /** A new process with its own scratch folder; it imports torch (and brings the device up) while it waits. */
  public HarnessProcess start(SandboxEnvironment.Role role, Backend backend, Device device) {
    List<String> tampered = harness.verify();
    if (!tampered.isEmpty()) {
      log.atError().addKeyValue("files", tampered).log("the harness on disk was modified and has been restored");
    }
    Path run = settings.workDir().resolve("runs").resolve(
        LocalDateTime.now().format(STAMP) + "-" + role.name().toLowerCase() + "-" + UUID.randomUUID().toString()
            .substring(0, 8));
    Path scratch = run.resolve("scratch");
    Map<String, String> host = new java.util.HashMap<>(System.getenv());
    SandboxEnvironment environment = SandboxEnvironment.of(role, backend, device, settings, harness.root(), scratch,
        sandbox, host);
    if (cores.active()) {
      // Until it is handed a candidate to time, a process (and everything it starts) stays off the timed cores.
      environment = environment.with("KFARM_CPUS", CorePlan.format(cores.shared()));
    }
    HarnessProcess process = HarnessProcess.start(environment, run, scratch, json, settings.logBytes(),
        settings.scratchQuota());
    live.add(run);
    process.onExit(() -> live.remove(run));
    return process;
  }

  public WorkerSettings settings() {
    return settings;
  }

  public Path harnessRoot() {
    return harness.root();
  }

  public ObjectMapper json() {
    return json;
  }

  /** Which cores time what on this host. */
  public CorePlan cores() {
    return cores;
  }

  public Sandbox sandbox() {
    return sandbox;
  }

  /** Removes run folders older than {@code run-retention}, now and then every tenth of it. */
  private void scheduleSweeps() {
    long every = Math.max(1, settings.runRetention().toSeconds() / 10);
    ScheduledExecutorService sweeper = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "kfarm-run-sweeper");
      t.setDaemon(true);
      return t;
    });
    sweeper.scheduleWithFixedDelay(this::sweep, 0, every, TimeUnit.SECONDS);
  }

  /** Deletes run folders last written before the retention window; returns how many. */
  public int sweep() {
    Path runs = settings.workDir().resolve("runs");
    Instant cutoff = Instant.now().minus(settings.runRetention());
    int removed = 0;
    List<Path> listed;
    try (Stream<Path> all = Files.exists(runs) ? Files.list(runs) : Stream.empty()) {
      listed = all.toList();
    } catch (IOException e) {
      log.atWarn().addKeyValue("runs", runs).addKeyValue("error", e.getMessage()).log("run folder sweep failed");
      return 0;
    }
    for (Path run : listed) {
      try {
        if (!live.contains(run)
            && Files.getLastModifiedTime(run, LinkOption.NOFOLLOW_LINKS).toInstant().isBefore(cutoff)) {
          HarnessInstall.delete(run);
          removed++;
        }
      } catch (NoSuchFileException gone) {
        // Another launcher on the same work folder (several worker nodes of one host) swept it first.
      } catch (IOException e) {
        // One folder that cannot go must not keep the others: the next sweep tries it again.
        log.atWarn().addKeyValue("run", run).addKeyValue("error", e.toString()).log("run folder not swept");
      }
    }
    return removed;
  }

  /** What the interpreter is and can do, asked outside any sandbox (which needs the answer to be built). */
  static Interpreter probe(WorkerSettings settings, ObjectMapper json) {
    String script = String.join("\n",
        "import json, os, shutil, site, sys, sysconfig",
        "out = {'missing': [], 'paths': []}",
        "try:",
        "    import torch",
        "except Exception as e:",
        "    out['missing'].append('torch cannot be imported (%s); install torch for this interpreter' % e)",
        "    print(json.dumps(out)); sys.exit(0)",
        "out['torch'] = torch.__version__",
        "import torch.utils.cpp_extension as ext",
        "inc = [p for p in ext.include_paths() if os.path.exists(os.path.join(p, 'torch', 'extension.h'))]",
        "if not inc:",
        "    out['missing'].append(\"torch's C++ headers (torch/extension.h) are missing; Debian: apt-get install "
            + "libtorch-dev\")",
        "dirs = ext.include_paths() + [sysconfig.get_paths()['include'], '/usr/include', '/usr/local/include']",
        "if inc and not any(os.path.exists(os.path.join(d, 'pybind11', 'pybind11.h')) for d in dirs):",
        "    out['missing'].append('the pybind11 headers torch/extension.h includes are missing; Debian: apt-get "
            + "install pybind11-dev')",
        "if not os.path.exists(os.path.join(sysconfig.get_paths()['include'], 'Python.h')):",
        "    out['missing'].append('Python.h is missing; Debian: apt-get install python3-dev')",
        "if not (shutil.which('c++') or shutil.which('g++')):",
        "    out['missing'].append('no C++ compiler (c++ or g++) on PATH; Debian: apt-get install g++')",
        "if not shutil.which('ninja'):",
        "    out['missing'].append('ninja is not on PATH; Debian: apt-get install ninja-build')",
        "if torch.version.cuda:",
        "    home = ext.CUDA_HOME",
        "    if not home or not os.path.exists(os.path.join(home, 'bin', 'nvcc')):",
        "        out['missing'].append('nvcc not found (CUDA_HOME=%s); install the CUDA toolkit or set CUDA_HOME' "
            + "% home)",
        "paths = [sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(os.path.realpath(sys.executable)),",
        "         os.path.dirname(os.path.dirname(torch.__file__))] + list(site.getsitepackages())",
        "if torch.version.cuda and ext.CUDA_HOME:",
        "    paths.append(ext.CUDA_HOME)",
        "out['paths'] = sorted(set(os.path.realpath(p) for p in paths if p and os.path.isdir(p)))",
        "import subprocess",
        "def version(tool):",
        "    try:",
        "        return subprocess.run([tool, '--version'], capture_output=True, text=True).stdout.strip()",
        "    except Exception:",
        "        return ''",
        "out['toolchain'] = [version(shutil.which('c++') or 'g++'), version('nvcc') if torch.version.cuda else '',",
        "                    torch.__version__, inc[:1], sys.version]",
        "print(json.dumps(out))");
    // Through env and the sandbox's own environment, so the interpreter is found exactly as harness processes
    // will find it.
    SandboxEnvironment env = SandboxEnvironment.of(SandboxEnvironment.Role.COMPILE, Backend.CPU, Device.cpu(),
        settings, Path.of("/nonexistent"), settings.workDir(), Sandbox.none(), Map.of());
    List<String> command = new ArrayList<>(List.of("env", settings.python(), "-c", script));
    try {
      ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(false)
          .redirectError(ProcessBuilder.Redirect.DISCARD);
      builder.environment().clear();
      builder.environment().putAll(env.environment());
      Process p = builder.start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
      if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0 || out.isEmpty()) {
        throw new IllegalStateException("kernelfarm.worker.python: \"" + settings.python() + "\" does not run ("
            + lastLine(out) + "); install Python 3 with torch or set KFARM_PYTHON to an interpreter that has it");
      }
      JsonNode answer = json.readTree(lastLine(out));
      List<String> missing = new ArrayList<>();
      answer.path("missing").forEach(m -> missing.add(m.asText()));
      List<Path> paths = new ArrayList<>();
      answer.path("paths").forEach(p2 -> paths.add(Path.of(p2.asText())));
      return new Interpreter(answer.path("torch").asText("none"), paths, missing,
          HarnessRequests.sha256(answer.path("toolchain").toString()).substring(0, 16));
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
}
