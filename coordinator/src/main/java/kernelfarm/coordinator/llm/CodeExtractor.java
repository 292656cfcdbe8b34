package kernelfarm.coordinator.llm;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Finds the candidate's Python source in an LLM's answer, written the way models really write it: prose around
 * one or more fenced blocks ({@code ```python}, {@code ```py}, a bare {@code ```}, or {@code ~~~}), CUDA in a
 * block of its own, a last fence left open when the model ran out of tokens, Windows line endings.
 *
 * <p>The choice, in order: the last Python block that defines {@code class ModelNew} (models revise as they go, so
 * the last is their final word); else the last block of any language that defines it (a mislabelled fence); else
 * the longest Python block; else, with no fence at all, the text from its first {@code import}, {@code from},
 * {@code class}, {@code def} or decorator line, if it defines {@code ModelNew}. {@code <think>} blocks are dropped
 * first, so a draft in the reasoning is never taken for the answer.
 *
 * <p>Surprising consequence: prose after unfenced code is kept, and the candidate then fails to compile; the
 * compile error is the feedback that tells the model to fence its code.
 */
public final class CodeExtractor {
  // CommonMark fences: three or more backticks or tildes, an info string whose first word is the language.
  private static final Pattern OPENING = Pattern.compile("^([ \\t]*)(`{3,}|~{3,})[ \\t]*([^\\s`]*).*$");
  private static final Pattern CLOSING = Pattern.compile("^[ \\t]*(`{3,}|~{3,})[ \\t]*$");
  private static final Pattern DEFINES_MODEL_NEW = Pattern.compile("(?m)^\\s*class\\s+ModelNew\\b");
  private static final Pattern CODE_START = Pattern.compile("(?m)^(import |from \\S+ import |class |def |@)");
  private static final Set<String> PYTHON = Set.of("", "python", "py", "python3", "py3");

  private CodeExtractor() {}

  private record Block(String language, String code) {
    boolean python() {
      return PYTHON.contains(language);
    }

    boolean definesModelNew() {
      return DEFINES_MODEL_NEW.matcher(code).find();
    }
  }

  /**
   * The candidate source, ending in one newline; empty when the answer holds no code, which the caller turns into
   * feedback for the model.
   */
  public static Optional<String> extract(String answer) {
    if (answer == null) {
      return Optional.empty();
    }
    String text = ThinkBlocks.split(answer.replace("\r\n", "\n").replace('\r', '\n')).answer();
    List<Block> blocks = blocks(text);
    Optional<Block> chosen = last(blocks, b -> b.python() && b.definesModelNew())
        .or(() -> last(blocks, Block::definesModelNew))
        .or(() -> blocks.stream().filter(Block::python).max(Comparator.comparingInt(b -> b.code().length())));
    if (chosen.isPresent()) {
      return Optional.of(finish(chosen.get().code()));
    }
    if (blocks.isEmpty() && DEFINES_MODEL_NEW.matcher(text).find()) {
      Matcher start = CODE_START.matcher(text);
      if (start.find()) {
        return Optional.of(finish(text.substring(start.start())));
      }
    }
    return Optional.empty();
  }

  private static List<Block> blocks(String text) {
    List<Block> blocks = new ArrayList<>();
    String[] lines = text.split("\n", -1);
    int i = 0;
    while (i < lines.length) {
      Matcher open = OPENING.matcher(lines[i]);
      // A backtick fence's info string may not hold a backtick: "```a``` b" is inline code, not a fence.
      if (!open.matches() || (open.group(2).charAt(0) == '`' && lines[i].indexOf('`', open.end(2)) >= 0)) {
        i++;
        continue;
      }
      String fence = open.group(2);
      int indent = open.group(1).length();
      StringBuilder code = new StringBuilder();
      i++;
      while (i < lines.length && !closes(lines[i], fence)) {
        code.append(dedent(lines[i], indent)).append('\n');
        i++;
      }
      // An unterminated fence runs to the end: the model ran out of tokens mid-block.
      i++;
      if (!code.toString().isBlank()) {
        blocks.add(new Block(open.group(3).toLowerCase(), code.toString()));
      }
    }
    return blocks;
  }

  private static boolean closes(String line, String fence) {
    Matcher close = CLOSING.matcher(line);
    return close.matches() && close.group(1).charAt(0) == fence.charAt(0) && close.group(1).length() >= fence.length();
  }

  /** A fence indented inside a list item indents its code too; take off as much as the fence had. */
  private static String dedent(String line, int indent) {
    int cut = 0;
    while (cut < indent && cut < line.length() && (line.charAt(cut) == ' ' || line.charAt(cut) == '\t')) {
      cut++;
    }
    return line.substring(cut);
  }

  private static Optional<Block> last(List<Block> blocks, Predicate<Block> wanted) {
    for (int i = blocks.size() - 1; i >= 0; i--) {
      if (wanted.test(blocks.get(i))) {
        return Optional.of(blocks.get(i));
      }
    }
    return Optional.empty();
  }

  private static String finish(String code) {
    return code.replaceFirst("^([ \\t]*\n)+", "").stripTrailing() + "\n";
  }
}
