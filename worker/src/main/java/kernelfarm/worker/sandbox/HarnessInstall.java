package kernelfarm.worker.sandbox;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Extracts the Python harness (a resource of this jar) into a folder named by its content hash, so every process
 * of every version runs exactly the harness its verdicts name, and two versions never overwrite each other.
 */
public final class HarnessInstall {
  /** Every module of the harness package; HarnessInstallTest fails when a new module is missing here. */
  public static final List<String> MODULES = List.of("__init__.py", "__main__.py", "protocol.py",
      "isolation.py", "loader.py", "compare.py", "timing.py", "integrity.py", "summary.py", "stages.py");

  private HarnessInstall() {}

  /** Returns the folder to put on PYTHONPATH (it holds {@code harness/}). Safe to call concurrently. */
  public static Path extract(Path workDir) {
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
      Path root = workDir.resolve("harness-" + hash);
      Path pkg = root.resolve("harness");
      if (!Files.exists(pkg.resolve("__main__.py"))) {
        Path staging = Files.createTempDirectory(Files.createDirectories(workDir), "harness-");
        Files.createDirectories(staging.resolve("harness"));
        for (var e : files.entrySet()) {
          Files.write(staging.resolve("harness").resolve(e.getKey()), e.getValue());
        }
        try {
          Files.move(staging, root, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException anotherProcessWon) {
          // The same content under the same name: theirs is as good as ours.
        }
      }
      return root;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot extract the harness into " + workDir, e);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
