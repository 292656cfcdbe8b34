package kernelfarm.worker.sandbox;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
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

  private final Process process;
  private final Path scratch;
  private final boolean networkIsolated;
  private final CompletableFuture<JsonNode> ready = new CompletableFuture<>();
  private final List<Event> buffered = new ArrayList<>();
  private Consumer<Event> listener;

  private HarnessProcess(Process process, Path scratch, boolean networkIsolated) {
    this.process = process;
    this.scratch = scratch;
    this.networkIsolated = networkIsolated;
  }

  /** Starts the process in {@code scratch} (its stderr goes to {@code harness.log} there). */
  public static HarnessProcess start(SandboxEnvironment sandbox, Path scratch, ObjectMapper json) {
    try {
      Files.createDirectories(scratch.resolve("tmp"));
      ProcessBuilder builder = new ProcessBuilder(sandbox.command())
          .directory(scratch.toFile())
          .redirectError(scratch.resolve("harness.log").toFile());
      builder.environment().clear();
      builder.environment().putAll(sandbox.environment());
      HarnessProcess harness = new HarnessProcess(builder.start(), scratch, sandbox.networkIsolated());
      Thread reader = new Thread(() -> harness.read(json), "harness-" + harness.process.pid());
      reader.setDaemon(true);
      reader.start();
      return harness;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start the harness (" + sandbox.command() + ")", e);
    }
  }

  /** Completes with the {@code ready} line once torch is imported (and the device is up), or fails. */
  public CompletionStage<JsonNode> ready() {
    return ready;
  }

  public Path scratch() {
    return scratch;
  }

  public long pid() {
    return process.pid();
  }

  public boolean networkIsolated() {
    return networkIsolated;
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
    try (BufferedReader out = new BufferedReader(
        new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = out.readLine()) != null) {
        JsonNode node;
        try {
          node = json.readTree(line);
        } catch (IOException notJson) {
          continue; // only the harness writes to this pipe; anything else is noise
        }
        if (node.path("v").asInt() != WIRE_VERSION) {
          ready.completeExceptionally(new IllegalStateException(
              "harness speaks wire version " + node.path("v") + ", this worker " + WIRE_VERSION));
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
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      code = -1;
    }
    String tail = stderrTail();
    ready.completeExceptionally(new IllegalStateException(
        "harness exited with " + code + " before it was ready: " + tail));
    deliver(new Exited(code, tail));
  }

  private synchronized void deliver(Event event) {
    if (listener != null) {
      listener.accept(event);
    } else {
      buffered.add(event);
    }
  }

  /** The last lines the harness wrote to stderr, for a verdict that must say why a process died. */
  public String stderrTail() {
    try {
      List<String> lines = Files.readAllLines(scratch.resolve("harness.log"), StandardCharsets.UTF_8);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 15), lines.size()));
    } catch (IOException | UncheckedIOException e) {
      return "";
    }
  }
}
