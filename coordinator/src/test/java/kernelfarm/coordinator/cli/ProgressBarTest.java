package kernelfarm.coordinator.cli;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import kernelfarm.protocol.Status;
import org.junit.jupiter.api.Test;

/** Without a terminal the bar writes lines to a log: a bounded number of them, whatever the number of steps. */
class ProgressBarTest {
  @Test
  void aThousandStepsWithoutATerminalWriteAboutTwentyLinesEndingAtTheTotal() {
    StringWriter out = new StringWriter();
    ProgressBar bar = new ProgressBar(new PrintWriter(out), 1000);
    for (int i = 0; i < 1000; i++) {
      bar.advance(i % 10 == 0 ? Status.INCORRECT : Status.CORRECT);
    }
    bar.finish();
    List<String> lines = out.toString().lines().toList();
    // The start, each twentieth of the way (the last one is the end), and a line per 10 s if a step is slow.
    assertTrue(lines.size() >= 20 && lines.size() <= 22, lines.size() + " lines:\n" + out);
    assertTrue(lines.get(0).contains("] 0/1000"), lines.get(0));
    assertTrue(lines.get(lines.size() - 1).contains("] 1000/1000  INCORRECT 100  CORRECT 900"),
        lines.get(lines.size() - 1));
  }
}
