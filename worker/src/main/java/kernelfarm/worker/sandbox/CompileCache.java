package kernelfarm.worker.sandbox;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * The compile cache as the worker (never a sandbox) writes it: one entry per candidate source, published once from
 * the scratch folder of the compile process that built it, read-only and owned by the worker from then on. An
 * evaluation gets the entry as hard links in its own scratch folder, so it can add what is missing (a lazy build)
 * but never change the entry. Entries are per candidate: a build made by one candidate's process is never loaded by
 * another candidate, so no candidate can plant code in someone else's verdict.
 */
final class CompileCache {
  /** More than any real build leaves behind; a candidate that leaves more gets nothing published. */
  private static final long MOST_BYTES = 4L << 30;
  private static final int MOST_FILES = 20_000;

  private CompileCache() {}

  /**
   * Copies the regular files and folders under {@code built} (never links or devices, which a candidate may have
   * planted) into {@code entry}, all at once: the entry appears whole or not at all.
   */
  static void publish(Path built, Path entry) {
    if (!Files.isDirectory(built, LinkOption.NOFOLLOW_LINKS) || Files.exists(entry, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    Path staging = entry.resolveSibling(".publishing-" + UUID.randomUUID());
    try (Stream<Path> walk = Files.walk(built)) {
      long bytes = 0;
      int files = 0;
      for (Path from : walk.toList()) {
        Path to = staging.resolve(built.relativize(from).toString());
        if (Files.isDirectory(from, LinkOption.NOFOLLOW_LINKS)) {
          Files.createDirectories(to);
        } else if (Files.isRegularFile(from, LinkOption.NOFOLLOW_LINKS)) {
          bytes += Files.size(from);
          if (++files > MOST_FILES || bytes > MOST_BYTES) {
            throw new IOException("the build left more than " + MOST_FILES + " files or " + (MOST_BYTES >> 30)
                + " GiB");
          }
          Files.copy(from, to, LinkOption.NOFOLLOW_LINKS);
          permissions(to, "r--r--r--");
        }
      }
      try (Stream<Path> dirs = Files.walk(staging)) {
        for (Path dir : dirs.filter(Files::isDirectory).toList()) {
          permissions(dir, "r-xr-xr-x");
        }
      }
      Files.move(staging, entry, StandardCopyOption.ATOMIC_MOVE);
    } catch (FileAlreadyExistsException | java.nio.file.DirectoryNotEmptyException anotherPublishWon) {
      HarnessInstall.delete(staging);
    } catch (IOException e) {
      HarnessInstall.delete(staging);
      // Nothing published: the evaluation builds what it needs in its own scratch folder.
    }
  }

  /** Hard-links a published entry into {@code target} (folders owned by {@code uid}, so builds can be added). */
  static void link(Path entry, Path target, int uid) {
    try {
      Files.createDirectories(target);
      own(target, uid);
      if (!Files.isDirectory(entry, LinkOption.NOFOLLOW_LINKS)) {
        return;
      }
      try (Stream<Path> walk = Files.walk(entry)) {
        for (Path from : walk.toList()) {
          Path to = target.resolve(entry.relativize(from).toString());
          if (from.equals(entry)) {
            continue;
          }
          if (Files.isDirectory(from, LinkOption.NOFOLLOW_LINKS)) {
            Files.createDirectories(to);
            own(to, uid);
          } else if (Files.isRegularFile(from, LinkOption.NOFOLLOW_LINKS)) {
            try {
              Files.createLink(to, from);
            } catch (IOException | UnsupportedOperationException otherFilesystem) {
              Files.copy(from, to);
              permissions(to, "r--r--r--");
            }
          }
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot prepare the builds of " + entry + " for evaluation", e);
    }
  }

  /** A file the sandbox may read and not change. */
  static void copyReadOnly(Path from, Path to) {
    try {
      Files.copy(from, to, StandardCopyOption.REPLACE_EXISTING, LinkOption.NOFOLLOW_LINKS);
      permissions(to, "r--r--r--");
    } catch (IOException e) {
      throw new UncheckedIOException("cannot stage " + from + " for the sandbox", e);
    }
  }

  private static void own(Path dir, int uid) throws IOException {
    if (uid >= 0) {
      Files.setAttribute(dir, "unix:uid", uid, LinkOption.NOFOLLOW_LINKS);
      Files.setAttribute(dir, "unix:gid", uid, LinkOption.NOFOLLOW_LINKS);
    }
  }

  private static void permissions(Path path, String permissions) throws IOException {
    try {
      Files.setPosixFilePermissions(path, PosixFilePermissions.fromString(permissions));
    } catch (UnsupportedOperationException notPosix) {
      // not a POSIX filesystem
    }
  }
}
