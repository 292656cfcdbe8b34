package kernelfarm.worker.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import kernelfarm.protocol.Backend;
import kernelfarm.worker.WorkerSettings;
import kernelfarm.worker.device.Device;
import org.junit.jupiter.api.Test;

/** What a harness process is started with: nothing secret, its own device only, limits, isolation. */
class SandboxEnvironmentTest {
  private static final WorkerSettings SETTINGS = WorkerSettings.from(ConfigFactory.load());
  private static final Map<String, String> HOST = Map.of(
      "KFARM_LLM_API_KEY", "sk-secret", "OPENAI_API_KEY", "sk-other", "AWS_SECRET_ACCESS_KEY", "x",
      "HOME", "/root", "PATH", "/root/.pyenv/shims:/usr/bin", "LD_LIBRARY_PATH", "/usr/local/cuda/lib64");

  private static final Sandbox SANDBOX = Sandbox.detect(SETTINGS, List.of());

  private static final List<Device> FOUR_GPUS = List.of(
      new Device(0, "GPU-aaaaaaaa-0000-0000-0000-000000000000", "NVIDIA H100 80GB HBM3", 80L << 30, "9.0", "580", true),
      new Device(1, "GPU-bbbbbbbb-0000-0000-0000-000000000000", "NVIDIA H100 80GB HBM3", 80L << 30, "9.0", "580", true),
      new Device(2, null, "NVIDIA H100 80GB HBM3", 80L << 30, "9.0", "580", true),
      new Device(3, null, "NVIDIA H100 80GB HBM3", 80L << 30, "9.0", "580", true));

  @Test
  void environmentStartsEmptySoNoSecretReachesCandidates() {
    SandboxEnvironment env = SandboxEnvironment.of(SandboxEnvironment.Role.EVALUATE, Backend.CUDA, FOUR_GPUS.get(0),
        SETTINGS, Path.of("/h"), Path.of("/scratch"), Sandbox.none(), HOST);
    for (String secret : List.of("KFARM_LLM_API_KEY", "OPENAI_API_KEY", "AWS_SECRET_ACCESS_KEY")) {
      assertFalse(env.environment().containsKey(secret), secret);
    }
    assertFalse(env.environment().values().stream().anyMatch(v -> v.contains("sk-")));
    assertEquals("/scratch", env.environment().get("HOME"), "HOME is the scratch folder, not the worker's");
    assertFalse(env.environment().get("PATH").contains(".pyenv"));
    assertEquals("/usr/local/cuda/lib64", env.environment().get("LD_LIBRARY_PATH"));
  }

  @Test
  void eachOfFourDevicesIsPinnedToItsOwnEvaluationProcesses() {
    Set<String> seen = new HashSet<>();
    for (Device device : FOUR_GPUS) {
      SandboxEnvironment env = SandboxEnvironment.of(SandboxEnvironment.Role.EVALUATE, Backend.CUDA, device, SETTINGS,
          Path.of("/h"), Path.of("/s"), Sandbox.none(), HOST);
      String visible = env.environment().get("CUDA_VISIBLE_DEVICES");
      assertEquals(device.uuid() != null ? device.uuid() : Integer.toString(device.index()), visible);
      assertFalse(visible.contains(","), "exactly one device");
      assertTrue(seen.add(visible), "no two workers share a device");
      assertEquals("9.0", env.environment().get("TORCH_CUDA_ARCH_LIST"));
    }
    assertEquals(4, seen.size());
  }

  @Test
  void compileProcessesSeeNoGpuButBuildForTheDevicesArchitecture() {
    SandboxEnvironment env = SandboxEnvironment.of(SandboxEnvironment.Role.COMPILE, Backend.CUDA, FOUR_GPUS.get(2),
        SETTINGS, Path.of("/h"), Path.of("/s"), Sandbox.none(), HOST);
    assertEquals("", env.environment().get("CUDA_VISIBLE_DEVICES"));
    assertEquals("9.0", env.environment().get("TORCH_CUDA_ARCH_LIST"));
    assertEquals("compile", env.environment().get("KFARM_ROLE"));
    int nice = env.command().indexOf(Sandbox.tool("nice"));
    assertEquals(List.of("-n", "10"), env.command().subList(nice + 1, nice + 3),
        "builds yield the cores to the evaluation being timed");
  }

  @Test
  void limitsAreAskedFor() {
    SandboxEnvironment cpu = SandboxEnvironment.of(SandboxEnvironment.Role.EVALUATE, Backend.CPU, Device.cpu(),
        SETTINGS, Path.of("/h"), Path.of("/s"), Sandbox.none(), HOST);
    assertTrue(cpu.environment().containsKey("KFARM_LIMIT_ADDRESS_SPACE"));
    assertTrue(cpu.environment().containsKey("KFARM_LIMIT_CPU_SECONDS"));
    SandboxEnvironment gpu = SandboxEnvironment.of(SandboxEnvironment.Role.EVALUATE, Backend.CUDA, FOUR_GPUS.get(0),
        SETTINGS, Path.of("/h"), Path.of("/s"), Sandbox.none(), HOST);
    assertFalse(gpu.environment().containsKey("KFARM_LIMIT_ADDRESS_SPACE"), "CUDA reserves huge address space");
    assertEquals("setsid", gpu.command().get(0), "without a sandbox, still a process group of its own");
  }

  @Test
  void everyProcessRunsInBubblewrapAsAnUnprivilegedUserOfItsOwn() {
    assertEquals(Sandbox.Mode.BWRAP, SANDBOX.mode(), "this host has bubblewrap (deploy/setup-debian.sh installs it)");
    Set<Integer> uids = new HashSet<>();
    for (SandboxEnvironment.Role role : SandboxEnvironment.Role.values()) {
      SandboxEnvironment env = SandboxEnvironment.of(role, Backend.CPU, Device.cpu(), SETTINGS, Path.of("/h"),
          Path.of("/s"), SANDBOX, HOST);
      List<String> command = env.command();
      assertEquals(List.of("setsid"), command.subList(0, 1));
      assertTrue(command.get(1).endsWith("bwrap"), command.toString());
      for (String flag : List.of("--unshare-pid", "--unshare-net", "--unshare-ipc", "--die-with-parent",
          "--new-session")) {
        assertTrue(command.contains(flag), flag + " in " + command);
      }
      assertEquals(List.of("--ro-bind", "/", "/"), command.subList(command.indexOf("--ro-bind"),
          command.indexOf("--ro-bind") + 3), "the whole filesystem read-only first");
      int bind = command.indexOf("--bind");
      assertEquals(List.of("--bind", "/s", "/s"), command.subList(bind, bind + 3), "only scratch is writable");
      assertEquals(1, command.stream().filter("--bind"::equals).count());
      int setpriv = command.indexOf("/usr/bin/setpriv");
      assertTrue(setpriv > 0, "by its system path, never one the interpreter's folder could shadow: " + command);
      assertTrue(command.subList(setpriv, command.size()).containsAll(List.of("--no-new-privs", "--clear-groups",
          "--inh-caps=-all", "--bounding-set=-all")));
      assertEquals("--reuid=" + env.uid(), command.get(setpriv + 1));
      assertTrue(env.uid() >= SETTINGS.sandboxFirstUid(), "never root or a login user: " + env.uid());
      assertTrue(uids.add(env.uid()), "each process its own uid");
      assertTrue(command.indexOf("--tmpfs") > 0 && command.contains(SETTINGS.workDir().toString()),
          "the worker's folder is hidden");
    }
  }
}
