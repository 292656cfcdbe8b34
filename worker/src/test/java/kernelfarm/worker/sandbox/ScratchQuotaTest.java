package kernelfarm.worker.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What counts against a scratch folder's quota: what the process made, never what the worker linked in. */
class ScratchQuotaTest {
  private final ScratchQuota quota = new ScratchQuota(2 << 20, 100);

  @Test
  void filesThatTheProcessWroteCountAndLinkedBuildsDoNot(@TempDir Path dir) throws Exception {
    Path cache = Files.createDirectories(dir.resolve("cache"));
    Path scratch = Files.createDirectories(dir.resolve("scratch"));
    Files.write(cache.resolve("ext.so"), new byte[3 << 20]);
    Files.createLink(scratch.resolve("ext.so"), cache.resolve("ext.so"));
    assertEquals(Optional.empty(), quota.exceededBy(scratch, -1), "a 3 MiB build linked from the cache");

    Files.write(scratch.resolve("a.bin"), new byte[1 << 20]);
    assertEquals(Optional.empty(), quota.exceededBy(scratch, -1), "1 MiB of 2");
    Files.write(scratch.resolve("b.bin"), new byte[(1 << 20) + 1]);
    Optional<String> over = quota.exceededBy(scratch, -1);
    assertTrue(over.orElse("").contains("more than 2 MiB into its scratch folder"), over.toString());
  }

  @Test
  void manySmallFilesCountToo(@TempDir Path scratch) throws Exception {
    for (int i = 0; i < 120; i++) {
      Files.createFile(scratch.resolve("f" + i));
    }
    Optional<String> over = quota.exceededBy(scratch, -1);
    assertTrue(over.orElse("").contains("more than 100 files and folders"), over.toString());
  }

  @Test
  void aFolderThatIsGoneIsNotOverQuota(@TempDir Path dir) {
    assertEquals(Optional.empty(), quota.exceededBy(dir.resolve("deleted"), -1));
  }

  @Test
  void aQuotaTooSmallForAnyBuildIsRefused() {
    assertThrows(IllegalArgumentException.class, () -> new ScratchQuota(1024, 100));
  }
}
