package kernelfarm.coordinator.llm;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Splits {@code <think>...</think>} reasoning out of an answer. Reasoning models served without a reasoning parser
 * write their thoughts inline, often with code drafts that must not be taken for the candidate.
 */
final class ThinkBlocks {
  private static final Pattern OPEN = Pattern.compile("<think>", Pattern.CASE_INSENSITIVE);
  private static final Pattern CLOSE = Pattern.compile("</think>", Pattern.CASE_INSENSITIVE);

  private ThinkBlocks() {}

  record Split(String reasoning, String answer) {}

  /** The text unchanged, with empty reasoning, when it has no think tags. */
  static Split split(String text) {
    if (!OPEN.matcher(text).find() && !CLOSE.matcher(text).find()) {
      return new Split("", text);
    }
    StringBuilder reasoning = new StringBuilder();
    StringBuilder answer = new StringBuilder();
    int at = 0;
    Matcher open = OPEN.matcher(text);
    Matcher close = CLOSE.matcher(text);
    // R1's chat template opens <think> in the prompt, so the answer may start inside a block with no opening tag.
    if (close.find() && (!open.find() || open.start() > close.start())) {
      reasoning.append(text, 0, close.start());
      at = close.end();
    }
    while (at < text.length()) {
      if (!open.find(at)) {
        answer.append(text, at, text.length());
        break;
      }
      answer.append(text, at, open.start());
      if (!close.find(open.end())) {
        // Unterminated: the model ran out of tokens while thinking.
        appendPart(reasoning, text.substring(open.end()));
        break;
      }
      appendPart(reasoning, text.substring(open.end(), close.start()));
      at = close.end();
    }
    return new Split(reasoning.toString().strip(), answer.toString().strip());
  }

  private static void appendPart(StringBuilder reasoning, String part) {
    if (reasoning.length() > 0) {
      reasoning.append("\n\n");
    }
    reasoning.append(part.strip());
  }
}
