// placeholder, replaced below
#include <gtest/gtest.h>
TEST(QueueIntegrationTest, Placeholder) {}
