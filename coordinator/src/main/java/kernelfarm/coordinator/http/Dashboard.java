package kernelfarm.coordinator.http;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.Uri;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * The live web dashboard's files, served from the jar: plain HTML, JS and CSS (no build step) under
 * {@code kernelfarm/coordinator/http/dashboard/}, and the uPlot chart library from its WebJar, so a host without
 * internet access draws the same charts. The pages read everything from the API (Server-Sent Events for live
 * figures), so serving them needs no token.
 *
 * <pre>
 * /dashboard/      index.html: Cluster (#/), Campaign (#/campaigns/ID), Problem (#/campaigns/ID/problems/PID)
 * /dashboard/lib/  uPlot.iife.min.js and uPlot.min.css, from the org.webjars.npm:uplot jar
 * </pre>
 */
final class Dashboard extends AllDirectives {
  private static final String FILES = "kernelfarm/coordinator/http/dashboard";
  private final String uplot;

  Dashboard() {
    // The WebJar's own pom.properties names its version, so a version bump in the pom needs no change here.
    try (InputStream in = Dashboard.class.getResourceAsStream(
        "/META-INF/maven/org.webjars.npm/uplot/pom.properties")) {
      if (in == null) {
        throw new IllegalStateException("the uPlot WebJar (org.webjars.npm:uplot) is missing from the classpath");
      }
      Properties p = new Properties();
      p.load(in);
      this.uplot = "META-INF/resources/webjars/uplot/" + p.getProperty("version") + "/dist";
    } catch (IOException e) {
      throw new IllegalStateException("the uPlot WebJar cannot be read", e);
    }
  }

  /** Under /dashboard: index.html at the root, the library under lib/, the rest by name. */
  Route routes() {
    return concat(
        // Relative links in index.html need the trailing slash.
        pathEnd(() -> redirect(Uri.create("/dashboard/"), StatusCodes.MOVED_PERMANENTLY)),
        pathSingleSlash(() -> getFromResource(FILES + "/index.html")),
        pathPrefix("lib", () -> getFromResourceDirectory(uplot)),
        getFromResourceDirectory(FILES));
  }
}
