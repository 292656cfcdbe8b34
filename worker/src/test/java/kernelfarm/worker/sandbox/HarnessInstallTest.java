package kernelfarm.worker.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The harness on disk is put back when changed; trees sandboxes wrote are removed without following their links. */
class HarnessInstallTest {
  @TempDir
  Path dir;

  @Test
  void aChangedHarnessIsRestoredBeforeItRuns() throws Exception {
    HarnessInstall install = HarnessInstall.extract(dir.resolve("work"));
    Path compare = install.root().resolve("harness").resolve("compare.py");
    String original = Files.readString(compare);
    compare.toFile().setWritable(true);
    Files.writeString(compare, original + "\ndef compare(*a, **k):\n    return True\n");
    Files.writeString(install.root().resolve("harness").resolve("sitecustomize.py"), "import os\n");
    List<String> wrong = install.verify();
    assertTrue(wrong.contains("compare.py"), wrong.toString());
    assertTrue(wrong.contains("extra file sitecustomize.py"), wrong.toString());
    assertEquals(original, Files.readString(install.root().resolve("harness").resolve("compare.py")));
    assertFalse(Files.exists(install.root().resolve("harness").resolve("sitecustomize.py")));
    assertEquals(List.of(), install.verify(), "intact now");
  }

  @Test
  void deletingARunNeverFollowsALinkItHolds() throws Exception {
    Path victim = Files.createDirectories(dir.resolve("victim"));
    Files.writeString(victim.resolve("keep.txt"), "precious");
    Path run = Files.createDirectories(dir.resolve("run/scratch/d"));
    Files.createSymbolicLink(run.resolve("link"), victim);
    Files.createSymbolicLink(dir.resolve("run/scratch/top"), victim);
    HarnessInstall.delete(dir.resolve("run"));
    assertFalse(Files.exists(dir.resolve("run")));
    assertEquals("precious", Files.readString(victim.resolve("keep.txt")));
  }
}
