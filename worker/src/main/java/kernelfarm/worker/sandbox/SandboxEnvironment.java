package kernelfarm.worker.sandbox;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import kernelfarm.protocol.Backend;
import kernelfarm.worker.WorkerSettings;
import kernelfarm.worker.device.Device;

/**
 * The command line and environment of one harness process. The environment starts from an empty map: nothing of
 * the worker's own environment (API keys, tokens, cloud credentials) reaches candidate code unless named here.
 *
 * @param uid the user id the process runs as, or -1 for the worker's own
 */
public record SandboxEnvironment(List<String> command, Map<String, String> environment, int uid) {

  public SandboxEnvironment {
    command = List.copyOf(command);
    environment = Map.copyOf(environment);
  }

  /** The same process with one more environment variable. */
  public SandboxEnvironment with(String name, String value) {
    Map<String, String> more = new LinkedHashMap<>(environment);
    more.put(name, value);
    return new SandboxEnvironment(command, more, uid);
  }

  /** Compile processes see no GPU; evaluation processes see exactly their own device. */
  public enum Role {
    COMPILE, EVALUATE;

    String wireName() {
      return name().toLowerCase();
    }
  }

  public static SandboxEnvironment of(Role role, Backend backend, Device device, WorkerSettings settings,
      Path harnessRoot, Path scratch, Sandbox sandbox, Map<String, String> host) {
    Map<String, String> env = new LinkedHashMap<>();
    env.put("PATH", searchPath(settings.python()));
    env.put("HOME", scratch.toString());
    env.put("TMPDIR", scratch.resolve("tmp").toString());
    // getpass and friends look here before the password database, which knows no sandbox user.
    env.put("USER", "kfarm-sandbox");
    env.put("LOGNAME", "kfarm-sandbox");
    env.put("KFARM_SANDBOX", sandbox.mode().wireName());
    env.put("KFARM_SANDBOX_GAPS", String.join("; ", sandbox.gaps()));
    env.put("LANG", "C.UTF-8");
    env.put("PYTHONPATH", harnessRoot.toString());
    env.put("PYTHONDONTWRITEBYTECODE", "1");
    env.put("PYTHONUNBUFFERED", "1");
    env.put("KFARM_ROLE", role.wireName());
    env.put("KFARM_BACKEND", backend.wireName());
    env.put("KFARM_DRIVER_VERSION", device.driverVersion());
    env.put("CUDA_VISIBLE_DEVICES", role == Role.EVALUATE ? device.visibleDevices() : "");
    if (role == Role.EVALUATE) {
      // Echoed in the verdict's environment: proof the process that judged was started for this worker's device.
      env.put("KFARM_DEVICE_INDEX", Integer.toString(device.index()));
    }
    String arch = settings.cudaArchList().isBlank() ? device.archList() : settings.cudaArchList();
    if (!arch.isBlank()) {
      // Builds and loads must see the same flags, or torch would rebuild: one arch list for both roles.
      env.put("TORCH_CUDA_ARCH_LIST", arch);
    }
    env.put("TORCH_EXTENSIONS_DIR", scratch.resolve("torch_extensions").toString());
    env.put("TRITON_CACHE_DIR", scratch.resolve("triton").toString());
    env.put("MAX_JOBS", Integer.toString(settings.compileJobs()));
    // torch.compile builds in this process instead of a pool of worker processes, which would outlive the call
    // and read as the candidate's background work.
    env.put("TORCHINDUCTOR_COMPILE_THREADS", "1");
    // Multicast over NVLink can take a shared host's GPUs down; it stays off in everything we start.
    env.put("NCCL_NVLS_ENABLE", "0");
    env.put("TORCH_SYMM_MEM_DISABLE_MULTICAST", "1");
    env.put("NVSHMEM_DISABLE_NVLS", "1");
    for (String passThrough : List.of("CUDA_HOME", "LD_LIBRARY_PATH")) {
      String value = host.get(passThrough);
      if (value != null && !value.isBlank()) {
        env.put(passThrough, value);
      }
    }
    if (!env.containsKey("CUDA_HOME") && Files.isDirectory(Path.of("/usr/local/cuda"))) {
      env.put("CUDA_HOME", "/usr/local/cuda");
    }
    limit(env, "KFARM_LIMIT_CPU_SECONDS", settings.limits().get("cpu-seconds"));
    limit(env, "KFARM_LIMIT_OPEN_FILES", settings.limits().get("open-files"));
    limit(env, "KFARM_LIMIT_FILE_SIZE", settings.limits().get("file-size-bytes"));
    limit(env, "KFARM_LIMIT_PROCESSES", settings.limits().get("processes"));
    if (backend == Backend.CPU) {
      limit(env, "KFARM_LIMIT_ADDRESS_SPACE", settings.limits().get("address-space-bytes"));
    }
    List<String> inner = new ArrayList<>();
    if (role == Role.COMPILE && settings.compileNiceness() > 0) {
      // Inherited by nvcc and g++: builds yield the cores to the evaluation being timed.
      inner.addAll(List.of(Sandbox.tool("nice"), "-n", Integer.toString(settings.compileNiceness())));
    }
    inner.addAll(List.of(settings.python(), "-m", "harness"));
    int uid = sandbox.nextUid();
    // The sandbox's first process is a session leader, so the worker's kill of the group reaches all of it.
    List<String> command = sandbox.wrap(inner, role, device, scratch, List.of(harnessRoot), uid);
    return new SandboxEnvironment(command, env, uid);
  }

  private static void limit(Map<String, String> env, String key, Long value) {
    if (value != null && value > 0) {
      env.put(key, Long.toString(value));
    }
  }

  private static String searchPath(String python) {
    String base = "/usr/local/cuda/bin:/usr/local/bin:/usr/bin:/bin";
    Path interpreter = Path.of(python);
    if (interpreter.isAbsolute() && interpreter.getParent() != null) {
      return interpreter.getParent() + ":" + base;
    }
    return base;
  }
}
