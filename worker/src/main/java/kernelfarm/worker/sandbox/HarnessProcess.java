package kernelfarm.worker.sandbox;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * One Python harness process: the only way the worker starts candidate code. It speaks JSON lines (see the
 * harness's protocol.py), serves exactly one request, and is killed with its whole process group afterwards, on a
 * timeout, or when its owner stops, so no orphan keeps GPU memory.
 *
 * <p>Events are buffered until an owner listens: a pre-warmed process reports {@code ready} long before it is
 * handed to the session that will use it.
 */
public final class HarnessProcess {
  /** Lines of the wire format this worker speaks; a harness that says otherwise is refused. */
  public static final int WIRE_VERSION = 1;

  /** What the process says, in order; {@link Exited} is always last. */
  public sealed interface Event {}

  public record StageEntered(String stage) implements Event {}

  public record Result(JsonNode line) implements Event {}

  /** @param code the exit status; 128 + n after signal n */
  public record Exited(int code, String stderrTail) implements Event {}

  /** Protocol lines longer than this are not the harness's (a verdict is a few KB): skipped, never buffered. */
  static final int LONGEST_LINE = 4 << 20;

  private final Process process;
  private final Path scratch;
  private final CappedLog output;
  private final CompletableFuture<JsonNode> ready = new CompletableFuture<>();
  private final List<Event> buffered = new ArrayList<>();
  private Consumer<Event> listener;
  private volatile Thread pump;

  private final int uid;
  private final ScratchQuota quota;

  private HarnessProcess(Process process, Path scratch, CappedLog output, int uid, ScratchQuota quota) {
    this.process = process;
    this.scratch = scratch;
    this.output = output;
    this.uid = uid;
    this.quota = quota;
  }

  /**
   * Starts the process with {@code scratch} (inside {@code run}) as its one writable folder; what it prints goes,
   * capped at {@code logBytes} and scrubbed of secrets, to {@code harness.log} in {@code run}, out of its reach.
   */
  public static HarnessProcess start(SandboxEnvironment sandbox, Path run, Path scratch, ObjectMapper json,
      long logBytes, ScratchQuota quota) {
    try {
      Files.createDirectories(run);
      restrict(run, "rwx------");
      Files.createDirectories(scratch.resolve("tmp"));
      restrict(scratch, "rwx------");
      if (sandbox.uid() >= 0) {
        for (Path dir : List.of(scratch, scratch.resolve("tmp"))) {
          Files.setAttribute(dir, "unix:uid", sandbox.uid());
          Files.setAttribute(dir, "unix:gid", sandbox.uid());
        }
        // The sandbox user must reach its scratch folder through the run folder, and nothing else in it.
        restrict(run, "rwx--x--x");
      }
      ProcessBuilder builder = new ProcessBuilder(sandbox.command()).directory(scratch.toFile());
      builder.environment().clear();
      builder.environment().putAll(sandbox.environment());
      CappedLog output = new CappedLog(logFile(scratch), logBytes);
      HarnessProcess harness = new HarnessProcess(builder.start(), scratch, output, sandbox.uid(), quota);
      harness.pump = new Thread(() -> output.pump(harness.process.getErrorStream()),
          "harness-log-" + harness.process.pid());
      harness.pump.setDaemon(true);
      harness.pump.start();
      Thread reader = new Thread(() -> harness.read(json), "harness-" + harness.process.pid());
      reader.setDaemon(true);
      reader.start();
      return harness;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start the harness (" + sandbox.command() + ")", e);
    }
  }

  /** Where the process's output is kept: beside its scratch folder, where the sandbox cannot reach. */
  public static Path logFile(Path scratch) {
    return scratch.resolveSibling("harness.log");
  }

  private static void restrict(Path dir, String permissions) throws IOException {
    try {
      Files.setPosixFilePermissions(dir, java.nio.file.attribute.PosixFilePermissions.fromString(permissions));
    } catch (UnsupportedOperationException notPosix) {
      // not a POSIX filesystem: nothing to tighten
    }
  }

  /** Completes with the {@code ready} line once torch is imported (and the device is up), or fails. */
  public CompletionStage<JsonNode> ready() {
    return ready;
  }

  public Path scratch() {
    return scratch;
  }

  /** Runs {@code action} once the process (the sandbox's first process) has exited, killed or not. */
  public void onExit(Runnable action) {
    process.onExit().thenRun(action);
  }

  /** The user id candidate code runs as in this process, or -1 for the worker's own. */
  /** Why this process has left more in its scratch folder than it may, if it has. */
  public Optional<String> scratchExceeded() {
    return quota.exceededBy(scratch, uid);
  }

  public int uid() {
    return uid;
  }

  public long pid() {
    return process.pid();
  }

  /** Hands every event so far, and all later ones, to {@code owner}. */
  public synchronized void listen(Consumer<Event> owner) {
    this.listener = owner;
    buffered.forEach(owner);
    buffered.clear();
  }

  /** Sends the one request this process will serve. */
  public void send(String requestLine) {
    try {
      OutputStream in = process.getOutputStream();
      in.write((requestLine + "\n").getBytes(StandardCharsets.UTF_8));
      in.flush();
      in.close();
    } catch (IOException e) {
      // The process already died; its Exited event says how.
    }
  }

  /** Kills the process group, then anything that escaped it. Safe to call repeatedly. */
  public void kill() {
    if (process.isAlive()) {
      try {
        new ProcessBuilder("kill", "-KILL", "--", "-" + process.pid()).start().waitFor(5, TimeUnit.SECONDS);
      } catch (IOException | InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    process.descendants().forEach(ProcessHandle::destroyForcibly);
    process.destroyForcibly();
  }

  private void read(ObjectMapper json) {
    try (InputStream out = new BufferedInputStream(process.getInputStream())) {
      String line;
      while ((line = boundedLine(out)) != null) {
        JsonNode node;
        try {
          node = json.readTree(line);
        } catch (IOException notJson) {
          continue; // only the harness writes to this pipe; anything else is noise
        }
        if (node == null || node.path("v").asInt() != WIRE_VERSION) {
          ready.completeExceptionally(new IllegalStateException(
              "harness speaks wire version " + (node == null ? "none" : node.path("v")) + ", this worker "
                  + WIRE_VERSION));
          kill();
          break;
        }
        switch (node.path("event").asText()) {
          case "ready" -> ready.complete(node);
          case "stage" -> deliver(new StageEntered(node.path("stage").asText()));
          default -> deliver(new Result(node));
        }
      }
    } catch (IOException closed) {
      // the process is gone; fall through to its exit status
    }
    int code;
    try {
      code = process.waitFor();
      pump.join(2000); // the last words of a dying process are the ones its verdict needs
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      code = -1;
    }
    String tail = stderrTail();
    ready.completeExceptionally(new IllegalStateException(
        "harness exited with " + code + " before it was ready: " + tail));
    deliver(new Exited(code, tail));
  }

  /** The next line, or null at the end; a line over {@link #LONGEST_LINE} bytes is skipped whole. */
  static String boundedLine(InputStream in) throws IOException {
    ByteArrayOutputStream line = new ByteArrayOutputStream();
    boolean overlong = false;
    int b;
    while ((b = in.read()) != -1) {
      if (b == '\n') {
        if (!overlong) {
          return line.toString(StandardCharsets.UTF_8);
        }
        overlong = false;
        line.reset();
        continue;
      }
      if (!overlong) {
        line.write(b);
        if (line.size() > LONGEST_LINE) {
          overlong = true;
          line.reset();
        }
      }
    }
    return line.size() > 0 && !overlong ? line.toString(StandardCharsets.UTF_8) : null;
  }

  private synchronized void deliver(Event event) {
    if (listener != null) {
      listener.accept(event);
    } else {
      buffered.add(event);
    }
  }

  /** The last lines the process printed (secrets removed), for a verdict that must say why it died. */
  public String stderrTail() {
    return output.recentLines(15);
  }

  /** Bytes the process printed so far (all of it, however much the log kept). */
  public long printedBytes() {
    return output.total();
  }
}
