// Runs Spark SQL statements read from standard input, one JSON string per line, and prints each
// answer as one JSON line {"columns":[…],"rows":[[…]]} or {"error":"…"}: the lake's independent
// reader in tests (Apache Spark with Iceberg's runtime, local mode), one JVM for many queries.
// Values print as Spark's own string forms: decimals exact, timestamps in UTC with microseconds.
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

public class SparkSql {
  public static void main(String[] args) throws Exception {
    SparkSession.Builder b = SparkSession.builder().master("local[2]").appName("tributary-spark-check");
    for (String a : args) {
      int eq = a.indexOf('=');
      b = b.config(a.substring(0, eq), a.substring(eq + 1));
    }
    SparkSession spark = b.getOrCreate();
    spark.sparkContext().setLogLevel("ERROR");
    System.out.println("{\"ready\":true}");
    System.out.flush();
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    String line;
    while ((line = in.readLine()) != null) {
      if (line.isBlank()) continue;
      String sql = unquote(line.trim());
      StringBuilder out = new StringBuilder();
      try {
        Dataset<Row> df = spark.sql(sql);
        String[] cols = df.columns();
        out.append("{\"columns\":[");
        for (int i = 0; i < cols.length; i++) out.append(i > 0 ? "," : "").append(quote(cols[i]));
        out.append("],\"rows\":[");
        List<Row> rows = df.collectAsList();
        for (int r = 0; r < rows.size(); r++) {
          Row row = rows.get(r);
          out.append(r > 0 ? "," : "").append("[");
          for (int i = 0; i < row.length(); i++) {
            Object v = row.get(i);
            out.append(i > 0 ? "," : "").append(v == null ? "null" : quote(render(v)));
          }
          out.append("]");
        }
        out.append("]}");
      } catch (Throwable e) {
        out.setLength(0);
        out.append("{\"error\":").append(quote(String.valueOf(e.getMessage()).split("\n")[0])).append("}");
      }
      System.out.println(out);
      System.out.flush();
    }
    spark.stop();
  }

  static String render(Object v) {
    if (v instanceof java.math.BigDecimal d) return d.toPlainString();
    if (v instanceof java.sql.Timestamp t) return t.toInstant().toString();
    if (v instanceof java.time.Instant t) return t.toString();
    if (v instanceof byte[] bytes) return new String(bytes, StandardCharsets.UTF_8);
    return v.toString();
  }

  static String quote(String s) {
    StringBuilder b = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      if (c == '"' || c == '\\') b.append('\\').append(c);
      else if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
      else b.append(c);
    }
    return b.append('"').toString();
  }

  static String unquote(String json) {
    if (!json.startsWith("\"")) return json;
    StringBuilder b = new StringBuilder();
    for (int i = 1; i < json.length() - 1; i++) {
      char c = json.charAt(i);
      if (c != '\\') { b.append(c); continue; }
      char n = json.charAt(++i);
      switch (n) {
        case 'n' -> b.append('\n');
        case 't' -> b.append('\t');
        case 'r' -> b.append('\r');
        case 'u' -> { b.append((char) Integer.parseInt(json.substring(i + 1, i + 5), 16)); i += 4; }
        default -> b.append(n);
      }
    }
    return b.toString();
  }
}
