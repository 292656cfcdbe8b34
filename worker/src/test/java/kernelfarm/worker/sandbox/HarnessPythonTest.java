package kernelfarm.worker.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** The harness's own unit tests (python3 -m unittest) and the completeness of what the jar ships of it. */
class HarnessPythonTest {
  private static final Path HARNESS = Path.of("src/main/resources/harness");

  @Test
  void harnessUnitTestsPass() throws Exception {
    String python = System.getenv().getOrDefault("KFARM_PYTHON", "python3");
    ProcessBuilder builder = new ProcessBuilder("env", "PATH=/usr/local/bin:/usr/bin:/bin",
        "PYTHONPATH=" + HARNESS.getParent().toAbsolutePath(), python, "-m", "unittest", "discover", "-v",
        "-s", "src/test/python", "-t", "src/test/python").redirectErrorStream(true);
    Process p = builder.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(5, TimeUnit.MINUTES), "unittest did not finish");
    assertEquals(0, p.exitValue(), out);
    assertTrue(out.contains("OK"), out);
  }

  @Test
  void everyHarnessModuleIsExtracted() throws Exception {
    try (Stream<Path> files = Files.list(HARNESS)) {
      List<String> modules = files.map(f -> f.getFileName().toString()).filter(n -> n.endsWith(".py") || n.endsWith(".json")).sorted()
          .toList();
      assertEquals(modules, HarnessInstall.MODULES.stream().sorted().toList());
    }
    Path root = HarnessInstall.extract(Files.createTempDirectory("kfarm-install")).root();
    assertTrue(root.getFileName().toString().startsWith("harness-"));
    for (String module : HarnessInstall.MODULES) {
      assertEquals(Files.readString(HARNESS.resolve(module)), Files.readString(root.resolve("harness").resolve(module)));
    }
  }
}
