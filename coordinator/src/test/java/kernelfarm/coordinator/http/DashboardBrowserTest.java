package kernelfarm.coordinator.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.File;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import kernelfarm.coordinator.Node;
import kernelfarm.coordinator.campaign.TestNodes;
import kernelfarm.coordinator.llm.FakeLlmServer;
import kernelfarm.coordinator.llm.LlmEndpoint;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The live dashboard in a real headless Chromium (Debian's chromium and chromium-driver, which
 * deploy/setup-debian.sh --tests installs), driven with Selenium, against a real node: a campaign submitted while
 * the page is open appears on it, and its figures change on the page without a reload. Screenshots go to
 * target/dashboard/. Skipped, saying why, only where chromium or chromedriver is not installed.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Tag("slow") // about a minute: a node, a browser and a campaign of eight rounds verified for real
class DashboardBrowserTest {
  private static final String PROBLEMS = Path.of("../examples/problems").toAbsolutePath().toString();
  private static final Path SHOTS = Path.of("target", "dashboard");
  private static final Duration WAIT = Duration.ofSeconds(90);

  private final ObjectMapper json = new ObjectMapper();
  private final HttpClient http = HttpClient.newHttpClient();
  private final AtomicInteger answers = new AtomicInteger();
  private FakeLlmServer llm;
  private Node node;
  private URI base;
  private ChromeDriver browser;

  @BeforeAll
  void start() throws Exception {
    Optional<Path> chromium = executable("KFARM_CHROMIUM", "chromium", "chromium-browser", "google-chrome");
    Optional<Path> driver = executable("KFARM_CHROMEDRIVER", "chromedriver");
    Assumptions.assumeTrue(chromium.isPresent() && driver.isPresent(), "headless Chromium is not installed ("
        + (chromium.isEmpty() ? "no chromium" : "no chromedriver") + " on PATH): on Debian run "
        + "deploy/setup-debian.sh --tests, or apt-get install chromium chromium-driver");
    // Each answer differs (a module constant), so each is verified rather than answered from the verdict cache,
    // and comes after a pause, so the campaign is still running while the page watches it.
    llm = FakeLlmServer.start(json).responder(request -> FakeLlmServer.after(Duration.ofMillis(1500),
        FakeLlmServer.answer("```python\n" + code(answers.incrementAndGet()) + "```\n")));
    Path store = Files.createTempDirectory("kfarm-dashboard-store");
    LlmEndpoint endpoint = new LlmEndpoint("fake", llm.baseUrl(), "fake-model", null, 8, Duration.ofSeconds(30), 2,
        1.0, 2.0);
    node = Node.start(Node.config(TestNodes.overrides(
            Map.of("kernelfarm.store.url", "jdbc:h2:file:" + store.resolve("kfarm").toAbsolutePath(),
                "kernelfarm.coordinator.http.live-every", "500ms"), 1)),
        new Node.Deps(Clock.systemUTC(), HttpClient.newHttpClient(), List.of(endpoint)), true);
    InetSocketAddress address = node.httpAddress().orElseThrow();
    base = URI.create("http://127.0.0.1:" + address.getPort());

    ChromeOptions options = new ChromeOptions();
    options.setBinary(chromium.get().toFile());
    // Root in a container has no user namespace sandbox for Chromium; the page is our own, on loopback.
    options.addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
        "--window-size=1400,1100");
    ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(driver.get().toFile())
        .usingAnyFreePort().build();
    browser = new ChromeDriver(service, options);
    Files.createDirectories(SHOTS);
  }

  @AfterAll
  void stop() {
    if (browser != null) {
      browser.quit();
    }
    if (node != null) {
      node.close();
    }
    if (llm != null) {
      llm.close();
    }
  }

  private static String code(int variant) {
    return "import torch\nimport torch.nn as nn\n\nVARIANT = " + variant + "\n\nclass ModelNew(nn.Module):\n"
        + "    def __init__(self):\n        super().__init__()\n\n    def forward(self, x):\n"
        + "        return torch.square(x).sum(-1, keepdim=True)\n";
  }

  @Test
  void aCampaignStartedWhileThePageIsOpenAppearsAndItsFiguresChangeWithoutAReload() throws Exception {
    browser.get(base + "/dashboard/");
    WebDriverWait wait = new WebDriverWait(browser, WAIT);
    // Live tables are redrawn when their figures change: an element found a moment ago may be gone.
    wait.ignoring(StaleElementReferenceException.class);
    wait.until(ExpectedConditions.textToBe(By.id("live"), "live"));
    String loadId = loadId();

    String campaignId = "browser-" + System.nanoTime();
    HttpResponse<String> submitted = http.send(HttpRequest.newBuilder(URI.create(base + "/api/v1/campaigns?id="
            + campaignId)).header("Authorization", "Bearer " + TestNodes.TOKEN)
        .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(spec())).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(201, submitted.statusCode(), submitted.body());

    // The cluster page: the campaign appears in its list, and the node's cpu device in the devices table.
    By row = By.cssSelector("tr[data-campaign='" + campaignId + "'] a");
    wait.until(ExpectedConditions.presenceOfElementLocated(row));
    wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("devices"), "cpu"));
    screenshot("cluster");
    assertEquals(loadId, loadId(), "the campaign appeared without a reload");

    // The campaign page, reached by a click (a hash change, not a page load): its round count moves live.
    click(wait, row);
    String first = wait.until(d -> d.findElement(By.id("k-rounds")).getText());
    wait.until(d -> !d.findElement(By.id("k-rounds")).getText().equals(first));
    String second = browser.findElement(By.id("k-rounds")).getText();
    assertNotEquals(first, second);
    assertEquals(loadId, loadId(), "the figures changed without a reload");
    assertTrue(browser.findElement(By.id("rules")).getText().contains("kernelbench"), "both rule sets are shown");
    screenshot("campaign-running");

    // The problem page: per-branch curve, the best candidate's code, and a round fetched on demand.
    click(wait, By.cssSelector("tr[data-problem] a"));
    wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("best-source"), "class ModelNew"));
    wait.until(ExpectedConditions.presenceOfElementLocated(By.cssSelector("#problem-chart .uplot canvas")));
    // Its logs, read from the worker on demand.
    click(wait, By.cssSelector("#logs button.log-button"));
    wait.until(d -> {
      String log = d.findElement(By.id("log-text")).getText();
      return !log.isEmpty() && !log.equals("Loading…");
    });
    assertFalse(browser.findElement(By.id("log-text")).getText().startsWith("Not available"),
        browser.findElement(By.id("log-text")).getText());
    click(wait, By.cssSelector("#rounds tr.clickable"));
    wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("round-prompt"), "ModelNew"));
    screenshot("problem");
    assertEquals(loadId, loadId());

    // Back on the campaign page, the campaign finishes on screen.
    click(wait, By.cssSelector("#crumbs a[href^='#/campaigns/']"));
    wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("k-state"), "FINISHED"));
    screenshot("campaign-finished");
    assertEquals(loadId, loadId());
    assertFalse(browser.getPageSource().contains(TestNodes.TOKEN), "the API token never reaches a page");
  }

  /** Clicks the first match, finding it again if a live update replaced it between the find and the click. */
  private static void click(WebDriverWait wait, By what) {
    wait.until(d -> {
      d.findElement(what).click();
      return true;
    });
  }

  private String loadId() {
    return (String) ((JavascriptExecutor) browser).executeScript("return document.documentElement.dataset.loadId");
  }

  private void screenshot(String name) throws Exception {
    File shot = ((TakesScreenshot) browser).getScreenshotAs(OutputType.FILE);
    Files.copy(shot.toPath(), SHOTS.resolve(name + ".png"), StandardCopyOption.REPLACE_EXISTING);
  }

  private static String spec() {
    return """
        {"name": "browser", "problems": {"source": "%s", "ids": ["4_SumSquares"]}, "backend": "cpu",
         "search": {"branches": 2, "rounds": 4, "timeBudget": "PT10M", "stopRule": "SPEND_BUDGET", "topK": 0},
         "sampling": {"temperature": 0.7, "maxTokens": 4096}, "endpoints": ["fake"],
         "verify": {"correctnessTrials": 3, "atol": 0.01, "rtol": 0.01, "warmupRuns": 3, "timingTrials": 20,
                    "flushL2": true, "requireCustomKernel": false, "seed": 42}}
        """.formatted(PROBLEMS);
  }

  /** An environment override, else the first of the names found on PATH. */
  private static Optional<Path> executable(String env, String... names) {
    String given = System.getenv(env);
    if (given != null && !given.isBlank()) {
      return Optional.of(Path.of(given)).filter(Files::isExecutable);
    }
    String path = System.getenv().getOrDefault("PATH", "/usr/bin:/bin");
    return Stream.of(names).flatMap(n -> Stream.of(path.split(File.pathSeparator)).map(d -> Path.of(d, n)))
        .filter(Files::isExecutable).findFirst();
  }
}
