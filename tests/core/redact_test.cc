#include "core/redact.h"

#include <gtest/gtest.h>

#include <string>

namespace pigtail {
namespace {

struct Case {
  const char* text;
  const char* want;
};

TEST(RedactSecretsTest, Table) {
  const Case cases[] = {
      // Nothing to mask.
      {"", ""},
      {"rocksdb:./data", "rocksdb:./data"},
      {"memory:", "memory:"},
      {"postgresql:///pigtail_test?host=%2Ftmp%2Fpg&user=postgres",
       "postgresql:///pigtail_test?host=%2Ftmp%2Fpg&user=postgres"},
      {"postgresql://postgres@localhost/db", "postgresql://postgres@localhost/db"},
      {"postgresql://localhost:5432/db", "postgresql://localhost:5432/db"},
      {"http://127.0.0.1:8000/queue/a", "http://127.0.0.1:8000/queue/a"},
      {"host=h dbname=d user=u", "host=h dbname=d user=u"},
      {"the password is wrong", "the password is wrong"},
      {"mypassword=x", "mypassword=x"},
      // Userinfo.
      {"postgresql://postgres:S3cretPw@/pigtail_test?host=/run",
       "postgresql://postgres:****@/pigtail_test?host=/run"},
      {"postgres://u:pw@host:5432/db", "postgres://u:****@host:5432/db"},
      {"postgresql://:pw@host/db", "postgresql://:****@host/db"},
      {"postgresql://u:@host/db", "postgresql://u:@host/db"},
      {"postgresql://u:p%40ss@host/db", "postgresql://u:****@host/db"},
      {"postgresql://u:pa/ss?x#y@host/db", "postgresql://u:****@host/db"},
      {"postgresql://u:pa@ss@host/db", "postgresql://u:****@host/db"},
      {"http://user:tok@example.org/x", "http://user:****@example.org/x"},
      {"postgresql://a:b@h1,c:d@h2/db", "postgresql://a:****@h2/db"},
      // Query parameters.
      {"postgresql:///db?host=/run&password=pw&user=u",
       "postgresql:///db?host=/run&password=****&user=u"},
      {"postgresql:///db?password=pw", "postgresql:///db?password=****"},
      {"postgresql:///db?PASSWORD=pw#frag", "postgresql:///db?PASSWORD=****#frag"},
      {"postgresql:///db?sslpassword=k&password=p",
       "postgresql:///db?sslpassword=****&password=****"},
      {"postgresql://u:a@h/db?password=b", "postgresql://u:****@h/db?password=****"},
      // Conninfo.
      {"host=h password=pw dbname=d", "host=h password=**** dbname=d"},
      {"password=pw", "password=****"},
      {"host=h password = pw", "host=h password = ****"},
      {"host=h password='p w\\'x' dbname=d", "host=h password=**** dbname=d"},
      {"password='unterminated", "password=****"},
      // Found by fuzz/redact_fuzz.cc: masking twice must change nothing more.
      {"password='a b'k user=u", "password=**** user=u"},
      {"password=a\\ b user=u", "password=**** user=u"},
      {"sslpassword=k user=u", "sslpassword=**** user=u"},
      {"password=", "password="},
      // Free text holding several.
      {"log postgresql://u:one@h/db, state host=h password=two",
       "log postgresql://u:****@h/db, state host=h password=****"},
      {R"({"log":"postgresql://u:one@/x","state":"postgresql://v:two@/y"})",
       R"({"log":"postgresql://u:****@/x","state":"postgresql://v:****@/y"})"},
      {"cannot open 'postgresql://u:pw@h/db': refused",
       "cannot open 'postgresql://u:****@h/db': refused"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(RedactSecrets(c.text), c.want) << "text: " << c.text;
  }
}

TEST(RedactSecretsTest, MaskedTextHoldsNoPassword) {
  const std::string password = "S3cretPw";
  for (const std::string& text :
       {"postgresql://postgres:" + password + "@/db", "postgresql:///db?password=" + password,
        "host=/run password=" + password, "host=/run password='" + password + "'"}) {
    std::string masked = RedactSecrets(text);
    EXPECT_EQ(masked.find(password), std::string::npos) << masked;
    EXPECT_NE(masked.find(kRedacted), std::string::npos) << masked;
    EXPECT_EQ(RedactSecrets(masked), masked) << "masking twice changes nothing";
  }
}

}  // namespace
}  // namespace pigtail
