package kernelfarm.worker.sandbox;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Optional;

/**
 * How much a sandboxed process may leave in its scratch folder, its one writable folder on the worker's disk. The
 * file-size limit caps each file (limits.file-size-bytes) but not how many: without this a candidate writes a
 * thousand 1 GiB files and the worker's disk, compile cache and every later verdict go with it. Measured while the
 * process runs (HarnessSession), so it is a watchdog, not a filesystem quota: a process may overshoot by what it
 * writes between two looks.
 *
 * <p>Only what the process made counts: builds the worker hard-linked in from the compile cache and the host's
 * precompiled header are the worker's files (another owner, several links).
 *
 * @param bytes the most bytes of files the process may make
 * @param files the most files and folders it may make
 */
public record ScratchQuota(long bytes, long files) {
  public ScratchQuota {
    if (bytes < 1 << 20 || files < 100) {
      throw new IllegalArgumentException("kernelfarm.worker.sandbox.scratch-bytes must be >= 1 MiB and "
          + "scratch-files >= 100, got " + bytes + " and " + files);
    }
  }

  /** Why {@code scratch}, written by a process running as {@code uid} (-1: the worker's own), is over quota. */
  public Optional<String> exceededBy(Path scratch, int uid) {
    long[] used = {0, 0};
    try {
      Files.walkFileTree(scratch, new SimpleFileVisitor<>() {
        @Override
        public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) {
          return ++used[1] > files ? FileVisitResult.TERMINATE : FileVisitResult.CONTINUE;
        }

        @Override
        public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
          if (attrs.isRegularFile() && made(file, uid)) {
            used[0] += attrs.size();
          }
          return ++used[1] > files || used[0] > bytes ? FileVisitResult.TERMINATE : FileVisitResult.CONTINUE;
        }

        @Override
        public FileVisitResult visitFileFailed(Path file, IOException error) {
          return FileVisitResult.CONTINUE; // removed meanwhile, or unreadable: it is not ours to count
        }
      });
    } catch (IOException gone) {
      return Optional.empty();
    }
    if (used[1] > files) {
      return Optional.of("made more than " + files + " files and folders in its scratch folder (the limit is "
          + "kernelfarm.worker.sandbox.scratch-files)");
    }
    if (used[0] > bytes) {
      return Optional.of("wrote more than " + (bytes >> 20) + " MiB into its scratch folder (the limit is "
          + "kernelfarm.worker.sandbox.scratch-bytes)");
    }
    return Optional.empty();
  }

  private static boolean made(Path file, int uid) throws IOException {
    if (uid >= 0) {
      return ((Integer) Files.getAttribute(file, "unix:uid", LinkOption.NOFOLLOW_LINKS)) == uid;
    }
    // The worker's own uid: what it linked in from the cache has several links; what the process wrote has one.
    return ((Integer) Files.getAttribute(file, "unix:nlink", LinkOption.NOFOLLOW_LINKS)) == 1;
  }
}
