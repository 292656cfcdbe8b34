package kernelfarm.worker.sandbox;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import kernelfarm.worker.WorkerSettings;
import kernelfarm.worker.device.Device;
import kernelfarm.worker.sandbox.SandboxEnvironment.Role;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How this host walls candidate code in, decided once when the worker starts. Every harness process (compile and
 * evaluation alike) runs inside it, since a candidate's code runs in both.
 *
 * <ul>
 *   <li>{@code bwrap} (bubblewrap, Debian's or the bundle's): fresh PID, mount, network, IPC and UTS namespaces; the
 *       whole filesystem read-only, the worker's folders and home directories hidden, a private {@code /tmp}, only
 *       the process's own scratch folder writable; a fresh {@code /dev} with just the GPU device nodes an evaluation
 *       needs; everything in it dies with it. As root the worker then drops to an unprivileged user id of its own
 *       (one per process, so no two sandboxes share a uid or its process limit) with no capabilities and
 *       no_new_privs, through util-linux {@code setpriv}.
 *   <li>{@code unshare} (util-linux only, as root): PID, network, IPC and UTS namespaces and the same user switch;
 *       the filesystem stays as it is, so only Unix permissions keep the candidate out of the worker's files.
 *   <li>{@code none}: a plain child process. The worker says so loudly at start, and every verdict says so.
 * </ul>
 */
public final class Sandbox {
  private static final Logger log = LoggerFactory.getLogger(Sandbox.class);

  /** How candidate processes are walled in on this host. */
  public enum Mode {
    BWRAP, UNSHARE, NONE;

    public String wireName() {
      return name().toLowerCase();
    }
  }

  /** Directories no candidate has any business reading: secrets, other users' files, the worker's own state. */
  private static final List<String> HIDDEN = List.of("/root", "/home", "/var/tmp", "/mnt", "/media", "/srv", "/run",
      "/var/lib/postgresql", "/etc/ssh", "/etc/ssl/private");
  /** System folders a hidden path must never cover, whatever the configuration says. */
  private static final List<String> SYSTEM = List.of("/", "/usr", "/bin", "/sbin", "/lib", "/lib64", "/etc",
      "/dev", "/proc", "/sys", "/opt", "/var", "/tmp");
  /** Private /tmp and /dev/shm are memory: capped so a candidate cannot fill the host's RAM through them. */
  private static final long TMPFS_BYTES = 256L << 20;

  private final Mode mode;
  private final String bwrap;
  private final boolean switchesUser;
  private final int firstUid;
  private final int uidCount;
  private final List<Path> hidden;
  private final List<Path> exposed;
  private final AtomicInteger nextUid = new AtomicInteger();

  private Sandbox(Mode mode, String bwrap, boolean switchesUser, int firstUid, int uidCount, List<Path> hidden,
      List<Path> exposed) {
    this.mode = mode;
    this.bwrap = bwrap;
    this.switchesUser = switchesUser;
    this.firstUid = firstUid;
    this.uidCount = uidCount;
    this.hidden = List.copyOf(hidden);
    this.exposed = List.copyOf(exposed);
  }

  /**
   * Finds the strongest sandbox this host allows (or the one {@code kernelfarm.worker.sandbox.mode} names, failing
   * with the reason when it cannot be had). {@code interpreterPaths} are the folders the harness interpreter needs
   * (its prefix, its packages): they stay visible even where they lie under a hidden folder.
   */
  public static Sandbox detect(WorkerSettings settings, List<Path> interpreterPaths) {
    boolean root = isRoot();
    List<Path> hidden = hiddenPaths(settings);
    List<Path> visible = new ArrayList<>(interpreterPaths);
    // /run is hidden (its sockets reach host daemons, PostgreSQL's among them); the NVIDIA persistence daemon's
    // socket is the one a CUDA process may want.
    Path persistenced = Path.of("/run/nvidia-persistenced");
    if (Files.isDirectory(persistenced)) {
      visible.add(persistenced);
    }
    String wanted = settings.sandboxMode();
    String bwrap = findBwrap();
    List<String> refusals = new ArrayList<>();
    for (Mode mode : List.of(Mode.BWRAP, Mode.UNSHARE)) {
      if (!wanted.equals("auto") && !wanted.equals(mode.wireName())) {
        continue;
      }
      Sandbox candidate = new Sandbox(mode, bwrap, root, settings.sandboxFirstUid(), settings.sandboxUidCount(),
          hidden, visible);
      String refusal = candidate.probe(settings.workDir());
      if (refusal == null) {
        return candidate;
      }
      refusals.add(mode.wireName() + ": " + refusal);
    }
    if (!wanted.equals("auto") && !wanted.equals("none")) {
      throw new IllegalStateException("kernelfarm.worker.sandbox.mode is \"" + wanted + "\" but this host cannot "
          + "provide it (" + String.join("; ", refusals) + "); install bubblewrap (Debian: apt-get install "
          + "bubblewrap), run the worker as root, or set KFARM_SANDBOX=auto");
    }
    if (!wanted.equals("none")) {
      log.atError().addKeyValue("why", String.join("; ", refusals)).log("NO SANDBOX: candidate code will run as "
          + "a plain child process of this worker, able to read its files and signal it. Install bubblewrap "
          + "(apt-get install bubblewrap) or run the worker as root.");
    }
    return new Sandbox(Mode.NONE, bwrap, false, 0, 1, hidden, visible);
  }

  /** No sandbox at all: for asking the interpreter about itself, or running trusted measurement code. */
  public static Sandbox none() {
    return new Sandbox(Mode.NONE, null, false, 0, 1, List.of(), List.of());
  }

  public Mode mode() {
    return mode;
  }

  /** Whether candidates run under user ids of their own (the worker is root). */
  public boolean switchesUser() {
    return switchesUser;
  }

  /** What this sandbox does not provide, in words; empty for bwrap as root. */
  public List<String> gaps() {
    List<String> gaps = new ArrayList<>();
    switch (mode) {
      case NONE -> gaps.add("no sandbox: candidates run as plain child processes of the worker");
      case UNSHARE -> gaps.add("filesystem not read-only (util-linux only): Unix permissions alone protect it");
      case BWRAP -> { }
    }
    if (mode != Mode.NONE && !switchesUser) {
      gaps.add("the worker is not root, so candidates run as the worker's own user");
    }
    return gaps;
  }

  /** The user id the next process runs as: one of a range, round robin; -1 where the user is not switched. */
  public int nextUid() {
    return switchesUser ? firstUid + Math.floorMod(nextUid.getAndIncrement(), uidCount) : -1;
  }

  /**
   * The command that runs {@code inner} in this sandbox as {@code uid}, with {@code scratch} its only writable
   * folder and {@code readable} visible read-only. Evaluation processes on a GPU get its device nodes.
   */
  List<String> wrap(List<String> inner, Role role, Device device, Path scratch, List<Path> readable, int uid) {
    List<String> command = new ArrayList<>();
    switch (mode) {
      case BWRAP -> {
        command.addAll(List.of(bwrap, "--die-with-parent", "--new-session", "--unshare-pid", "--unshare-net",
            "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try", "--hostname", "kfarm-sandbox"));
        if (!switchesUser) {
          command.add("--unshare-user");
        }
        command.addAll(List.of("--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"));
        command.addAll(List.of("--perms", "1777", "--size", Long.toString(TMPFS_BYTES), "--tmpfs", "/tmp"));
        command.addAll(List.of("--perms", "1777", "--size", Long.toString(TMPFS_BYTES), "--tmpfs", "/dev/shm"));
        for (Path path : hidden) {
          command.addAll(List.of("--tmpfs", path.toString()));
        }
        for (Path path : exposed) {
          if (hidden.stream().anyMatch(path::startsWith)) {
            mountPoint(command, path);
            command.addAll(List.of("--ro-bind", path.toString(), path.toString()));
          }
        }
        for (Path path : readable) {
          mountPoint(command, path);
          command.addAll(List.of("--ro-bind", path.toString(), path.toString()));
        }
        mountPoint(command, scratch);
        command.addAll(List.of("--bind", scratch.toString(), scratch.toString(), "--chdir", scratch.toString()));
        if (role == Role.EVALUATE && device.gpu()) {
          for (Path node : gpuDeviceNodes(device)) {
            command.addAll(List.of("--dev-bind", node.toString(), node.toString()));
          }
        }
        if (switchesUser) {
          // setpriv needs these to change user; it then drops every capability, for good.
          command.addAll(List.of("--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--cap-add", "CAP_SETPCAP"));
        }
        command.add("--");
      }
      case UNSHARE -> command.addAll(List.of("setsid", tool("unshare"), "--pid", "--fork", "--kill-child",
          "--mount-proc", "--net", "--ipc", "--uts", "--"));
      case NONE -> command.add("setsid");
    }
    if (switchesUser && mode != Mode.NONE) {
      command.addAll(List.of(tool("setpriv"), "--reuid=" + uid, "--regid=" + uid, "--clear-groups", "--no-new-privs",
          "--inh-caps=-all", "--bounding-set=-all", "--"));
    }
    command.addAll(inner);
    if (mode == Mode.BWRAP) {
      // A session of its own, so the worker's kill of the group reaches bwrap, and with it the namespace.
      command.add(0, "setsid");
    }
    return command;
  }

  /**
   * Folders bwrap would create on the way to a mount inside a hidden (empty) folder are its owner's alone; these
   * are made passable, so the sandbox user can reach what is mounted there and nothing else.
   */
  private void mountPoint(List<String> command, Path target) {
    for (Path hiddenRoot : hidden) {
      if (target.startsWith(hiddenRoot) && !target.equals(hiddenRoot)) {
        Path dir = hiddenRoot;
        for (Path part : hiddenRoot.relativize(target.getParent() == null ? target : target.getParent())) {
          dir = dir.resolve(part);
          command.addAll(List.of("--perms", "0711", "--dir", dir.toString()));
        }
      }
    }
  }

  /**
   * A util-linux tool by its system path where it has one: the sandbox's PATH starts with the interpreter's own
   * folder, which must not be able to stand in for the tool that drops root.
   */
  static String tool(String name) {
    for (String dir : List.of("/usr/bin", "/bin", "/usr/sbin", "/sbin")) {
      if (Files.isExecutable(Path.of(dir, name))) {
        return Path.of(dir, name).toString();
      }
    }
    return name;
  }

  /** Null when a trivial command runs in this sandbox, else why not. */
  private String probe(Path workDir) {
    if (mode == Mode.BWRAP && bwrap == null) {
      return "bwrap not found (on PATH, $KFARM_BWRAP, or beside the bundle's java)";
    }
    if (mode == Mode.UNSHARE && !switchesUser) {
      return "util-linux namespaces need root";
    }
    try {
      Path scratch = Files.createDirectories(workDir.resolve("runs")).resolve("probe-" + ProcessHandle.current()
          .pid());
      Files.createDirectories(scratch);
      int uid = switchesUser ? firstUid : -1;
      if (uid >= 0) {
        Files.setAttribute(scratch, "unix:uid", uid);
        Files.setAttribute(scratch, "unix:gid", uid);
      }
      List<String> command = wrap(List.of("sh", "-c", "touch " + scratch + "/ok && id -u"), Role.COMPILE,
          Device.cpu(), scratch, List.of(), uid);
      Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
      boolean done = p.waitFor(30, TimeUnit.SECONDS);
      boolean ok = done && p.exitValue() == 0 && Files.exists(scratch.resolve("ok"));
      Files.deleteIfExists(scratch.resolve("ok"));
      Files.deleteIfExists(scratch);
      if (!ok) {
        return "a trial run failed: " + (out.isBlank() ? "exit " + (done ? p.exitValue() : "timeout") : lastLine(out));
      }
      if (switchesUser && !out.endsWith(Integer.toString(uid))) {
        return "a trial run did not switch to uid " + uid + " (it ran as " + lastLine(out) + ")";
      }
      return null;
    } catch (IOException e) {
      return e.getMessage();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "interrupted";
    }
  }

  private static String lastLine(String text) {
    String[] lines = text.strip().split("\n");
    return lines[lines.length - 1];
  }

  private static boolean isRoot() {
    try {
      return ((Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid")) == 0;
    } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
      return false;
    }
  }

  /** $KFARM_BWRAP, then bwrap on PATH, then the bundle's copy beside the runtime ({@code bin/bwrap}). */
  private static String findBwrap() {
    List<Path> places = new ArrayList<>();
    String configured = System.getenv("KFARM_BWRAP");
    if (configured != null && !configured.isBlank()) {
      places.add(Path.of(configured));
    }
    for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
      if (!dir.isBlank()) {
        places.add(Path.of(dir, "bwrap"));
      }
    }
    places.add(Path.of("/usr/bin/bwrap"));
    places.add(Path.of(System.getProperty("java.home"), "bin", "bwrap"));
    return places.stream().filter(Files::isExecutable).map(Path::toString).findFirst().orElse(null);
  }

  private static List<Path> hiddenPaths(WorkerSettings settings) {
    Set<Path> paths = new LinkedHashSet<>();
    paths.add(settings.workDir());
    // The worker's own folder (a checkout with its store and configuration) is none of a candidate's business.
    paths.add(Path.of(System.getProperty("user.dir")));
    String home = System.getenv("KFARM_HOME");
    if (home != null && !home.isBlank()) {
      paths.add(Path.of(home));
    }
    HIDDEN.forEach(p -> paths.add(Path.of(p)));
    List<Path> kept = new ArrayList<>();
    for (Path path : paths) {
      Path real;
      try {
        real = path.toRealPath();
      } catch (IOException missing) {
        continue;
      }
      boolean system = SYSTEM.stream().map(Path::of).anyMatch(s -> s.startsWith(real));
      if (!system && Files.isDirectory(real) && !kept.contains(real)) {
        kept.add(real);
      }
    }
    // Outer folders first, so a folder inside one is hidden again after the outer one is.
    kept.sort((a, b) -> Integer.compare(a.getNameCount(), b.getNameCount()));
    return kept;
  }

  /**
   * The driver's shared nodes (nvidiactl, nvidia-uvm, ...) and the one {@code /dev/nvidiaN} of this device, found by
   * its UUID in the driver's own table: CUDA_VISIBLE_DEVICES alone is the candidate's to change, a missing device
   * node is not. Every numbered node where the device cannot be told apart (no UUID), said in the log.
   */
  static List<Path> gpuDeviceNodes(Device device) {
    List<Path> nodes = new ArrayList<>();
    Integer minor = minorOf(device.uuid());
    try (Stream<Path> dev = Files.list(Path.of("/dev"))) {
      for (Path node : dev.filter(p -> p.getFileName().toString().startsWith("nvidia")).sorted().toList()) {
        String name = node.getFileName().toString();
        boolean numbered = name.matches("nvidia\\d+");
        if (!numbered || minor == null || name.equals("nvidia" + minor)) {
          nodes.add(node);
        }
      }
    } catch (IOException e) {
      return nodes;
    }
    if (minor == null && device.gpu()) {
      log.atWarn().addKeyValue("device", device.index()).log("cannot tell this GPU's device node apart: its "
          + "evaluations see every GPU's node (CUDA_VISIBLE_DEVICES still names one)");
    }
    return nodes;
  }

  /** The device minor the NVIDIA driver gives the GPU with this UUID, from /proc/driver/nvidia/gpus. */
  private static Integer minorOf(String uuid) {
    if (uuid == null) {
      return null;
    }
    try (Stream<Path> gpus = Files.list(Path.of("/proc/driver/nvidia/gpus"))) {
      for (Path gpu : gpus.toList()) {
        Integer minor = null;
        boolean match = false;
        for (String line : Files.readAllLines(gpu.resolve("information"))) {
          if (line.startsWith("Device Minor:")) {
            minor = Integer.parseInt(line.substring("Device Minor:".length()).trim());
          } else if (line.startsWith("GPU UUID:") && line.substring("GPU UUID:".length()).trim()
              .equalsIgnoreCase(uuid)) {
            match = true;
          }
        }
        if (match && minor != null) {
          return minor;
        }
      }
    } catch (IOException | NumberFormatException e) {
      return null;
    }
    return null;
  }
}
