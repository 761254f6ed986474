// Apache Iceberg's reference REST catalog (RESTCatalogAdapter + RESTCatalogServlet from Iceberg's own
// test fixtures, over a JDBC catalog in SQLite) bound to 127.0.0.1 only, unlike RESTCatalogServer, which
// binds every interface. Run by the stack with Java's source launcher; its settings come from a
// properties file (mode 600: it holds the S3 secret and the token), never from the command line.
// With `tributary.token` set, every request must carry `Authorization: Bearer <token>`.
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import org.apache.hadoop.conf.Configuration;
import org.apache.iceberg.CatalogUtil;
import org.apache.iceberg.catalog.Catalog;
import org.apache.iceberg.rest.RESTCatalogAdapter;
import org.apache.iceberg.rest.RESTCatalogServlet;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;

public class IcebergRestCatalog {
  /** The reference servlet, behind a bearer-token check when a token is configured. */
  static final class TokenServlet extends RESTCatalogServlet {
    private final byte[] expected;

    TokenServlet(RESTCatalogAdapter adapter, String token) {
      super(adapter);
      this.expected = token.isEmpty() ? null : ("Bearer " + token).getBytes(StandardCharsets.UTF_8);
    }

    @Override
    protected void service(HttpServletRequest req, HttpServletResponse resp)
        throws ServletException, IOException {
      if (expected != null) {
        String got = req.getHeader("Authorization");
        byte[] given = got == null ? new byte[0] : got.getBytes(StandardCharsets.UTF_8);
        if (!MessageDigest.isEqual(expected, given)) {
          resp.setStatus(401);
          resp.setContentType("application/json");
          resp.getWriter()
              .write(
                  "{\"error\":{\"message\":\"missing or wrong bearer token\",\"type\":\"NotAuthorizedException\",\"code\":401}}");
          return;
        }
      }
      super.service(req, resp);
    }
  }

  public static void main(String[] args) throws Exception {
    Properties props = new Properties();
    try (InputStream in = new FileInputStream(args[0])) {
      props.load(in);
    }
    Map<String, String> catalogProps = new HashMap<>();
    for (String k : props.stringPropertyNames()) {
      if (!k.startsWith("tributary.")) catalogProps.put(k, props.getProperty(k));
    }
    Catalog backend = CatalogUtil.buildIcebergCatalog("tributary", catalogProps, new Configuration());
    RESTCatalogAdapter adapter = new RESTCatalogAdapter(backend);

    Server server = new Server();
    ServerConnector connector = new ServerConnector(server);
    connector.setHost(props.getProperty("tributary.host", "127.0.0.1"));
    connector.setPort(Integer.parseInt(props.getProperty("tributary.port")));
    server.addConnector(connector);
    ServletContextHandler context = new ServletContextHandler();
    context.addServlet(
        new ServletHolder(new TokenServlet(adapter, props.getProperty("tributary.token", ""))), "/*");
    server.setHandler(context);
    server.start();
    System.out.println("Iceberg REST catalog listening on " + connector.getHost() + ":" + connector.getPort());
    server.join();
  }
}
