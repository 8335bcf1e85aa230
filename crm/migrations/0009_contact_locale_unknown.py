from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('crm', '0008_kpi_inputs'),
    ]

    operations = [
        migrations.AlterField(
            model_name='contact',
            name='locale',
            field=models.CharField(blank=True, default='', max_length=10, verbose_name='locale'),
        ),
    ]
