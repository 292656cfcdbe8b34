package kernelfarm.coordinator.cli;

import java.io.OutputStreamWriter;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;
import kernelfarm.protocol.Status;

/**
 * A one-line progress bar on stderr: done/total, counts per status, elapsed and estimated time left. Public for
 * the benchmarks ({@code kernelfarm.coordinator.bench}), which show their passes with it.
 */
public final class ProgressBar {
  private static final long QUIET_NANOS = Duration.ofSeconds(10).toNanos();
  private final PrintWriter out;
  private final int total;
  private final long started = System.nanoTime();
  private final Map<Status, Integer> counts = new EnumMap<>(Status.class);
  private final boolean interactive;
  private int done;
  private int printedDone = -1;
  private long printedAt;

  public ProgressBar(PrintStream out, int total) {
    this(new PrintWriter(new OutputStreamWriter(out, StandardCharsets.UTF_8), true), total);
  }

  /** On a command's own writer: what {@code kfarm campaign watch} draws on, so tests read it. */
  ProgressBar(PrintWriter out, int total) {
    this.out = out;
    this.total = total;
    this.interactive = System.console() != null;
    render();
  }

  public synchronized void advance(Status status) {
    done++;
    counts.merge(status, 1, Integer::sum);
    render();
  }

  public synchronized void finish() {
    if (interactive) {
      out.println();
      out.flush();
    }
  }

  /**
   * Without a terminal (CI logs, files) a line per step would log a thousand lines for a thousand candidates: there
   * a line is printed at the start, at each twentieth of the way, at most every 10 s between, and at the end.
   */
  private boolean due() {
    if (interactive || done == 0 || done == total) {
      return true;
    }
    int step = Math.max(1, total / 20);
    return done / step != printedDone / step || System.nanoTime() - printedAt >= QUIET_NANOS;
  }

  private void render() {
    if (!due() || done == printedDone) {
      return;
    }
    printedDone = done;
    printedAt = System.nanoTime();
    int width = 30;
    int filled = total == 0 ? width : done * width / total;
    Duration elapsed = Duration.ofNanos(System.nanoTime() - started);
    String eta = done == 0 ? "?" : format(elapsed.multipliedBy(total - done).dividedBy(done));
    StringBuilder line = new StringBuilder("[").append("#".repeat(filled)).append(".".repeat(width - filled))
        .append("] ").append(done).append('/').append(total);
    counts.forEach((status, n) -> line.append("  ").append(status).append(' ').append(n));
    line.append("  elapsed ").append(format(elapsed)).append("  left ").append(eta);
    // Without a terminal (CI logs) a line per step reads better than carriage returns.
    out.print(interactive ? "\r" + line : line + "\n");
    out.flush();
  }

  private static String format(Duration d) {
    long s = d.toSeconds();
    return s >= 3600 ? String.format("%dh%02dm", s / 3600, s / 60 % 60) : String.format("%dm%02ds", s / 60, s % 60);
  }
}
