variable "name" {}

resource "aws_ecr_repository" "users" {
  name = "${var.name}/users"
}

resource "aws_ecr_repository" "payments" {
  name = "${var.name}/payments"
}

resource "aws_ecr_repository" "notifications" {
  name = "${var.name}/notifications"
}
