package kernelfarm.worker.sandbox;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import kernelfarm.protocol.Redaction;
import kernelfarm.protocol.VerdictLogsProtocol;
import kernelfarm.protocol.VerdictLogsProtocol.Command;
import kernelfarm.protocol.VerdictLogsProtocol.LogChunk;
import kernelfarm.protocol.VerdictLogsProtocol.LogUnavailable;
import kernelfarm.protocol.VerdictLogsProtocol.ReadLog;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.receptionist.Receptionist;

/**
 * Serves the logs this node's verdicts name ({@link kernelfarm.protocol.Verdict#logs()}) to a coordinator, a chunk
 * at a time. Only files the worker itself wrote are served: regular files directly in a run folder, reached without
 * a symbolic link. A scratch folder is the candidate's, so nothing in it is served, whatever path is asked for.
 * Runs on the blocking dispatcher (it reads files).
 */
public final class VerdictLogReader {
  private VerdictLogReader() {}

  /** Registers with the receptionist and serves the run folders under {@code runs}. */
  public static Behavior<Command> create(Path runs) {
    return Behaviors.setup(context -> {
      context.getSystem().receptionist().tell(Receptionist.register(VerdictLogsProtocol.SERVICE_KEY,
          context.getSelf()));
      return Behaviors.receive(Command.class)
          .onMessage(ReadLog.class, read -> {
            read.replyTo().tell(read(runs, read));
            return Behaviors.same();
          })
          .build();
    });
  }

  static VerdictLogsProtocol.Reply read(Path runs, ReadLog read) {
    Path file;
    try {
      file = Path.of(read.path());
    } catch (InvalidPathException e) {
      return new LogUnavailable(read.path(), "not a path");
    }
    String refused = refusal(runs, file);
    if (refused != null) {
      return new LogUnavailable(read.path(), refused);
    }
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
      long size = channel.size();
      if (read.offset() >= size) {
        return new LogChunk(read.path(), read.offset(), read.offset(), size, "");
      }
      ByteBuffer bytes = ByteBuffer.allocate((int) Math.min(read.maxBytes(), size - read.offset()));
      while (bytes.hasRemaining() && channel.read(bytes, read.offset() + bytes.position()) > 0) {
        // A file the harness still appends to may grow; what was there when asked is enough.
      }
      bytes.flip();
      boolean last = read.offset() + bytes.limit() >= size;
      // A chunk ends on a whole character: a multi-byte one cut by the chunk's end starts the next chunk.
      CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(CodingErrorAction.REPLACE).onUnmappableCharacter(CodingErrorAction.REPLACE);
      CharBuffer text = CharBuffer.allocate(bytes.limit());
      utf8.decode(bytes, text, last);
      if (bytes.position() == 0) { // fewer bytes asked for than one character has
        utf8.reset();
        utf8.decode(bytes, text, true);
      }
      text.flip();
      return new LogChunk(read.path(), read.offset(), read.offset() + bytes.position(), size,
          Redaction.scrub(text.toString()));
    } catch (NoSuchFileException e) {
      return new LogUnavailable(read.path(), "removed with its run folder (kernelfarm.worker.sandbox.run-retention)");
    } catch (IOException e) {
      return new LogUnavailable(read.path(), "unreadable: " + e.getMessage());
    }
  }

  /** Why this path is not served, or null if it is a log the worker wrote. */
  private static String refusal(Path runs, Path file) {
    String outside = "not a log of this node's runs (only files directly in a run folder under " + runs
        + " are served)";
    if (!file.isAbsolute() || !file.equals(file.normalize())) {
      return outside;
    }
    Path run = file.getParent();
    if (run == null || !runs.equals(run.getParent())) {
      return outside;
    }
    if (!Files.exists(file, LinkOption.NOFOLLOW_LINKS)) {
      return Files.isDirectory(run, LinkOption.NOFOLLOW_LINKS) ? "no such log in its run folder"
          : "removed with its run folder (kernelfarm.worker.sandbox.run-retention)";
    }
    try {
      // No link anywhere on the way: the real path is the asked one.
      if (!file.toRealPath().equals(runs.toRealPath().resolve(run.getFileName()).resolve(file.getFileName()))
          || !Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
        return outside;
      }
    } catch (IOException e) {
      return "unreadable: " + e.getMessage();
    }
    return null;
  }
}
