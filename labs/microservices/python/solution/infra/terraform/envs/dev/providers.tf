# Credentials come from the environment (an OIDC-assumed role in CI, SSO profiles on laptops),
# never from this file.
provider "aws" {
  region              = var.region
  allowed_account_ids = [var.account_id]

  default_tags {
    tags = {
      Project     = "shop"
      Environment = local.environment
      ManagedBy   = "terraform"
      Repository  = var.repository
    }
  }
}
