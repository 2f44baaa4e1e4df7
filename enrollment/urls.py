from django.urls import path

from enrollment import views

urlpatterns = [
    path("", views.home, name="home"),
]
