package kernelfarm.worker.sandbox;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The Python harness (a resource of this jar), extracted into a folder named by its content hash, so every process
 * of every version runs exactly the harness its verdicts name, and two versions never overwrite each other. The
 * files are made read-only, candidates see them through a read-only mount, and {@link #verify()} compares them
 * with the jar's bytes before each process starts: a harness changed on disk is put back before anything runs it.
 */
public final class HarnessInstall {
  /** Every file of the harness package; HarnessPythonTest fails when a new one is missing here. */
  public static final List<String> MODULES = List.of("__init__.py", "__main__.py", "protocol.py", "names.json",
      "names.py", "isolation.py", "loader.py", "compare.py", "timing.py", "integrity.py", "summary.py", "flags.py", "headers.py",
      "checks.py", "build.py", "stages.py", "trials.py", "channel.py", "judge.py");

  private final Path workDir;
  private final Map<String, byte[]> files;
  private final Path root;

  private HarnessInstall(Path workDir, Map<String, byte[]> files, Path root) {
    this.workDir = workDir;
    this.files = files;
    this.root = root;
  }

  /** Extracts the harness under {@code workDir} (if it is not there already). Safe to call concurrently. */
  public static HarnessInstall extract(Path workDir) {
    try {
      Map<String, byte[]> files = new LinkedHashMap<>();
      MessageDigest digest = MessageDigest.getInstance("SHA-256");
      for (String module : MODULES) {
        try (InputStream in = HarnessInstall.class.getResourceAsStream("/harness/" + module)) {
          if (in == null) {
            throw new IllegalStateException("harness module " + module + " is missing from the worker jar");
          }
          byte[] bytes = in.readAllBytes();
          files.put(module, bytes);
          digest.update(module.getBytes());
          digest.update(bytes);
        }
      }
      String hash = HexFormat.of().formatHex(digest.digest()).substring(0, 12);
      HarnessInstall install = new HarnessInstall(workDir, files, workDir.resolve("harness-" + hash));
      if (!install.intact()) {
        install.reinstall();
      }
      return install;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot extract the harness into " + workDir, e);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The folder to put on PYTHONPATH (it holds {@code harness/}). */
  public Path root() {
    return root;
  }

  /**
   * Checks the files on disk against the jar's bytes; puts them back when anything differs (a file changed, added
   * or replaced by a link). Returns what was wrong, or an empty list.
   */
  public synchronized List<String> verify() {
    List<String> wrong = differences();
    if (!wrong.isEmpty()) {
      try {
        reinstall();
      } catch (IOException e) {
        throw new UncheckedIOException("the harness in " + root + " was modified (" + wrong + ") and cannot be "
            + "restored", e);
      }
    }
    return wrong;
  }

  private boolean intact() {
    return differences().isEmpty();
  }

  private List<String> differences() {
    Path pkg = root.resolve("harness");
    List<String> wrong = new java.util.ArrayList<>();
    for (var e : files.entrySet()) {
      Path file = pkg.resolve(e.getKey());
      try {
        if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)
            || !Arrays.equals(Files.readAllBytes(file), e.getValue())) {
          wrong.add(e.getKey());
        }
      } catch (IOException unreadable) {
        wrong.add(e.getKey());
      }
    }
    try (Stream<Path> present = Files.exists(pkg) ? Files.list(pkg) : Stream.empty()) {
      present.map(p -> p.getFileName().toString())
          .filter(name -> !files.containsKey(name) && !name.equals("__pycache__"))
          .forEach(name -> wrong.add("extra file " + name));
    } catch (IOException e) {
      wrong.add("unlistable");
    }
    return wrong;
  }

  private void reinstall() throws IOException {
    Path staging = Files.createTempDirectory(Files.createDirectories(workDir), "harness-");
    Path pkg = Files.createDirectories(staging.resolve("harness"));
    for (var e : files.entrySet()) {
      Path file = pkg.resolve(e.getKey());
      Files.write(file, e.getValue());
      readOnly(file, "r--r--r--");
    }
    readOnly(pkg, "r-xr-xr-x");
    readOnly(staging, "r-xr-xr-x");
    if (Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
      Path old = workDir.resolve(root.getFileName() + ".bad-" + System.nanoTime());
      Files.move(root, old, StandardCopyOption.ATOMIC_MOVE);
      delete(old);
    }
    try {
      Files.move(staging, root, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException anotherProcessWon) {
      // The same content under the same name: theirs is as good as ours.
      delete(staging);
    }
  }

  private static void readOnly(Path path, String permissions) throws IOException {
    try {
      Files.setPosixFilePermissions(path, PosixFilePermissions.fromString(permissions));
    } catch (UnsupportedOperationException notPosix) {
      // not a POSIX filesystem
    }
  }

  /**
   * Removes a tree that sandboxed code may have written, without ever following a link it planted: GNU rm walks
   * with openat and never crosses into a link or another filesystem, where a walk by path could be raced into
   * deleting the host's files as root.
   */
  static void delete(Path tree) {
    if (!Files.exists(tree, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    try {
      Process rm = new ProcessBuilder("rm", "-rf", "--one-file-system", "--", tree.toString())
          .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
      if (!rm.waitFor(5, java.util.concurrent.TimeUnit.MINUTES)) {
        rm.destroyForcibly();
      }
    } catch (IOException e) {
      // best effort: what is left is removed by the next sweep
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
