# State lives in a versioned, encrypted S3 bucket created once per account (bootstrap, outside
# this configuration). use_lockfile takes a lock object next to the state, so two applies
# cannot interleave. Each environment has its own state key.
terraform {
  backend "s3" {
    bucket       = "shop-terraform-state-111122223333"
    key          = "shop/dev/terraform.tfstate"
    region       = "eu-west-1"
    encrypt      = true
    use_lockfile = true
  }
}
