package kernelfarm.coordinator.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A campaign's speedup-over-time plot as a standalone SVG: per problem, the best correct speedup (strict rules)
 * against seconds since the problem started, a step line as the curve in results.json has it, with 1x marked.
 * Plain SVG written here, so a report needs no plotting library and opens in any browser.
 */
final class SpeedupPlot {
  private SpeedupPlot() {}

  private static final int WIDTH = 800;
  private static final int HEIGHT = 480;
  private static final int LEFT = 60;
  private static final int RIGHT = 200;
  private static final int TOP = 40;
  private static final int BOTTOM = 50;
  // Tableau's ten: distinct in print and for most colour-blind readers.
  private static final String[] COLOURS = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948",
      "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};

  /** @param problems results.json's {@code problems}: each with {@code problemId} and {@code curve} */
  static String svg(String campaignId, JsonNode problems) {
    double maxSeconds = 1;
    double maxSpeedup = 1.5;
    for (JsonNode p : problems) {
      for (JsonNode point : p.path("curve")) {
        maxSeconds = Math.max(maxSeconds, point.path("seconds").asDouble());
        maxSpeedup = Math.max(maxSpeedup, point.path("speedup").asDouble());
      }
    }
    maxSpeedup *= 1.1;
    StringBuilder svg = new StringBuilder();
    svg.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
        + "font-family=\"sans-serif\" font-size=\"12\">%n", WIDTH, HEIGHT));
    svg.append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
    svg.append(text(LEFT, 24, "best speedup over time: " + campaignId, "font-size=\"15\""));
    int plotWidth = WIDTH - LEFT - RIGHT;
    int plotHeight = HEIGHT - TOP - BOTTOM;
    svg.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" "
        + "stroke=\"#888\"/>%n", LEFT, TOP, plotWidth, plotHeight));
    double oneX = y(1.0, maxSpeedup);
    svg.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#888\" "
        + "stroke-dasharray=\"4 4\"/>%n", LEFT, oneX, LEFT + plotWidth, oneX));
    for (int i = 0; i <= 4; i++) {
      double speedup = maxSpeedup * i / 4;
      double seconds = maxSeconds * i / 4;
      svg.append(text(LEFT - 8, y(speedup, maxSpeedup) + 4, String.format(Locale.ROOT, "%.2fx", speedup),
          "text-anchor=\"end\""));
      svg.append(text(x(seconds, maxSeconds), HEIGHT - BOTTOM + 18, String.format(Locale.ROOT, "%.0f s", seconds),
          "text-anchor=\"middle\""));
    }
    svg.append(text(LEFT + plotWidth / 2.0, HEIGHT - 12, "seconds since the problem started",
        "text-anchor=\"middle\""));
    int n = 0;
    for (JsonNode p : problems) {
      String colour = COLOURS[n % COLOURS.length];
      List<String> points = new ArrayList<>();
      double last = 0;
      for (JsonNode point : p.path("curve")) {
        double seconds = point.path("seconds").asDouble();
        // A step: the best holds until the next better candidate.
        points.add(String.format(Locale.ROOT, "%.1f,%.1f", x(seconds, maxSeconds), y(last, maxSpeedup)));
        last = point.path("speedup").asDouble();
        points.add(String.format(Locale.ROOT, "%.1f,%.1f", x(seconds, maxSeconds), y(last, maxSpeedup)));
      }
      if (!points.isEmpty()) {
        points.add(String.format(Locale.ROOT, "%.1f,%.1f", x(maxSeconds, maxSeconds), y(last, maxSpeedup)));
        svg.append(String.format(Locale.ROOT, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" "
            + "points=\"%s\"/>%n", colour, String.join(" ", points)));
      }
      double legendY = TOP + 14 + 16 * n;
      svg.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%.1f\" width=\"10\" height=\"10\" fill=\"%s\"/>%n",
          LEFT + plotWidth + 12, legendY - 9, colour));
      svg.append(text(LEFT + plotWidth + 28, legendY, p.path("problemId").asText()
          + (points.isEmpty() ? " (none correct)" : String.format(Locale.ROOT, " %.2fx", last)), ""));
      n++;
    }
    return svg.append("</svg>\n").toString();
  }

  private static double x(double seconds, double maxSeconds) {
    return LEFT + (WIDTH - LEFT - RIGHT) * seconds / maxSeconds;
  }

  private static double y(double speedup, double maxSpeedup) {
    return TOP + (HEIGHT - TOP - BOTTOM) * (1 - speedup / maxSpeedup);
  }

  private static String text(double x, double y, String content, String attributes) {
    String escaped = content.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    return String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%.1f\" %s>%s</text>%n", x, y, attributes, escaped);
  }
}
