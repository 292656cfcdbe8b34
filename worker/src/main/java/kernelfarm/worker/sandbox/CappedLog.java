package kernelfarm.worker.sandbox;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import kernelfarm.protocol.Redaction;

/**
 * Copies what a harness process prints (its candidate's output included) into a log file of bounded size, line by
 * line with secrets removed: the first half of the budget as it comes, then only the last half, written when the
 * stream ends after a line saying how much was dropped. A candidate printing 100 MB costs the disk {@code budget}
 * bytes. The file lives outside the sandbox's scratch folder, so the candidate can neither replace it nor point it
 * elsewhere.
 */
final class CappedLog {
  private static final int TAIL_FOR_VERDICTS = 8192;
  /** Longer lines are cut into pieces of this size (each scrubbed on its own) so memory stays bounded. */
  private static final int LONGEST_LINE = 65536;

  private final Path file;
  private final long headBytes;
  private final byte[] tail;
  private final byte[] recent = new byte[TAIL_FOR_VERDICTS];
  private long total;
  private long written;
  private long tailWritten;
  private long recentWritten;

  CappedLog(Path file, long budget) {
    this.file = file;
    this.headBytes = Math.max(1024, budget / 2);
    this.tail = new byte[(int) Math.min(Integer.MAX_VALUE - 8, Math.max(1024, budget / 2))];
  }

  /** Reads {@code in} to its end; never throws for the stream's sake (a dead process just ends it). */
  void pump(InputStream in) {
    try (OutputStream out = Files.newOutputStream(file, StandardOpenOption.CREATE,
        StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
      ByteArrayOutputStream line = new ByteArrayOutputStream();
      byte[] buffer = new byte[65536];
      int n;
      while ((n = in.read(buffer)) > 0) {
        for (int i = 0; i < n; i++) {
          line.write(buffer[i]);
          if (buffer[i] == '\n' || line.size() >= LONGEST_LINE) {
            absorb(line, out);
          }
        }
        if (line.size() > 0 && in.available() == 0) {
          absorb(line, out); // a prompt without a newline still shows while the process waits
        }
      }
      absorb(line, out);
      synchronized (this) {
        if (tailWritten > 0) {
          long dropped = Math.max(0, tailWritten - tail.length);
          if (dropped > 0) {
            out.write(("\n[kfarm: " + dropped + " bytes of output dropped here; the log keeps the first and last "
                + headBytes + " bytes]\n").getBytes(StandardCharsets.UTF_8));
          }
          out.write(ring(tail, tailWritten));
        }
      }
    } catch (IOException e) {
      // The process is gone or the disk refused: the verdict still has the recent output in memory.
    }
  }

  private synchronized void absorb(ByteArrayOutputStream line, OutputStream out) throws IOException {
    if (line.size() == 0) {
      return;
    }
    byte[] clean = Redaction.scrub(line.toString(StandardCharsets.UTF_8)).getBytes(StandardCharsets.UTF_8);
    line.reset();
    total += clean.length;
    int headPart = (int) Math.max(0, Math.min(clean.length, headBytes - written));
    if (headPart > 0) {
      out.write(clean, 0, headPart);
      out.flush();
      written += headPart;
    }
    for (int i = headPart; i < clean.length; i++) {
      tail[(int) (tailWritten++ % tail.length)] = clean[i];
    }
    for (byte b : clean) {
      recent[(int) (recentWritten++ % recent.length)] = b;
    }
  }

  /** Bytes the process printed so far. */
  synchronized long total() {
    return total;
  }

  /** The last lines printed, secrets removed: what a verdict may quote of a process that died. */
  synchronized String recentLines(int lines) {
    String text = new String(ring(recent, recentWritten), StandardCharsets.UTF_8);
    String[] all = text.split("\n");
    int from = Math.max(0, all.length - lines);
    return String.join("\n", Arrays.copyOfRange(all, from, all.length));
  }

  private static byte[] ring(byte[] ring, long count) {
    if (count <= ring.length) {
      return Arrays.copyOf(ring, (int) count);
    }
    int start = (int) (count % ring.length);
    byte[] out = new byte[ring.length];
    System.arraycopy(ring, start, out, 0, ring.length - start);
    System.arraycopy(ring, 0, out, ring.length - start, start);
    return out;
  }
}
